// The panel renders the core's view and forwards the agent's intents.
// No decisions here: which buttons work, and why not, which call a
// shortcut or a chosen customer goes to, comes from the Go core (the
// gateway's own rules). What is left is the DOM: build a part only when
// its data changed, so that focus and a pointer on a button survive.
"use strict";

const $ = (id) => document.getElementById(id);
// The nonce the content script put in the fragment admits this panel
// when a page frames it; without it the service worker refuses the panel
// and it renders nothing (clickjacking, issue 11, item 14).
//
// The port is opened again whenever it drops: Chrome stops an idle
// service worker (a logged-out agent's, after 30 s) and restarts it on
// the next connection, and a panel that kept its dead port would show a
// stale view and lose every click. The worker admits the same panel
// again with the same nonce (background.js, panelAllowed).
let port = null;
let refused = false;
let redials = 0;
// What the agent did while the panel could not act (not yet admitted:
// the worker listens only once it has checked the panel, and sends a
// view then; or admitted while the restarted core resumes her session,
// when it would drop what needs her logged in): sent as soon as it can,
// not lost; unless it waited over 10 s, when a call placed or a login
// sent would surprise the agent.
let admitted = false;
let resuming = false;
let waiting = [];
function connectPort() {
  admitted = false;
  try {
    port = chrome.runtime.connect({ name: "panel:" + location.hash.slice(1) });
  } catch (e) {
    return lost(); // the extension was updated or removed: this frame is done
  }
  port.onMessage.addListener(onPortMessage);
  port.onDisconnect.addListener(() => {
    admitted = false;
    if (refused) return;
    // At once the first time (the connection starts the worker again),
    // then more slowly; a worker that sends no view for half a minute
    // will not, and the page must be loaded again.
    if (redials >= 8) return lost();
    setTimeout(connectPort, Math.min(100 * 2 ** redials++, 5000));
  });
}
function post(msg, at = Date.now()) {
  if (!admitted || resuming) {
    waiting = [...waiting.slice(-19), { msg, at }];
    return;
  }
  try {
    port.postMessage(msg);
  } catch (e) {
    waiting.push({ msg, at }); // the port dropped: it goes on the next one
  }
}

function flushWaiting() {
  const queued = waiting.filter((w) => Date.now() - w.at < 10000);
  waiting = [];
  for (const w of queued) post(w.msg, w.at);
}
const send = (intent) => post({ type: "intent", intent });
// The content script places the panel: "section" in the CRM page, or
// "dock" at its edge (which can collapse to a badge). Loaded on its own,
// it is the browser's side panel.
const mode = new URLSearchParams(location.search).get("mode") || (window.top === window ? "side" : "section");
let view = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));
  return e;
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60), ss = String(s % 60).padStart(2, "0");
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// Timers count from the moment the core gives, in this browser's clock,
// four times a second: exact to the second, and no view needed per tick.
function tickTimers() {
  const now = Date.now();
  for (const t of document.querySelectorAll("[data-from]")) {
    const text = (t.dataset.prefix || "") + clock(now - Number(t.dataset.from));
    if (t.textContent !== text) t.textContent = text;
  }
}
setInterval(tickTimers, 250);

const PENDING = { answer: "Answering…", hangup: "Ending…", hold: "Putting on hold…", retrieve: "Resuming…", transfer: "Transferring…",
  consult: "Calling for consultation…", complete: "Completing the transfer…", conference: "Joining the conference…", digits: "Sending tones…" };

// button renders a control. A disabled one stays focusable
// (aria-disabled) and its reason is text on the card, tied to it by
// aria-describedby, so keyboard and screen-reader users get it too.
function button(label, ctl, onClick, cls, reasons) {
  const attrs = { type: "button", "aria-label": label, class: cls, title: ctl.shortcut ? `${label} (${ctl.shortcut})` : null };
  if (ctl.shortcut) attrs["aria-keyshortcuts"] = ctl.shortcut;
  if (!ctl.enabled) {
    attrs["aria-disabled"] = "true";
    attrs.title = ctl.reason || label;
    if (ctl.reason && reasons) attrs["aria-describedby"] = reasons.add(ctl.reason);
  }
  return el("button", { ...attrs, on: { click: () => { if (ctl.enabled) onClick(); } } }, label);
}

// Reasons collects the distinct reasons on one card, each shown once.
class Reasons {
  constructor(prefix) { this.prefix = prefix; this.ids = new Map(); }
  add(text) {
    if (!this.ids.has(text)) this.ids.set(text, `${this.prefix}-r${this.ids.size}`);
    return this.ids.get(text);
  }
  nodes() { return [...this.ids].map(([text, id]) => el("p", { id, class: "reason" }, text)); }
}

function callControls(c, reasons) {
  const ctl = c.controls;
  const controls = el("div", { class: "controls" });
  const act = (type, extra) => () => send({ type, callId: c.id, ...extra });
  if (c.state === "ringing") {
    controls.append(button("Accept", ctl.answer, act("answer"), "primary", reasons));
    if (!c.ignored) controls.append(el("button", { type: "button", on: { click: act("ignore") } }, "Ignore"));
  } else if (c.state === "held") {
    controls.append(button("Resume", ctl.retrieve, act("retrieve"), "primary", reasons));
  } else {
    controls.append(button("Hold", ctl.hold, act("hold"), null, reasons));
  }
  controls.append(button(c.state === "ringing" ? "Reject" : "End", ctl.hangup, act("hangup"), "danger", reasons));
  return controls;
}

function callTools(c, li, reasons) {
  const ctl = c.controls;
  if (c.state === "connected") {
    const to = el("input", { placeholder: "Transfer to…", "aria-label": "Transfer or consult number", class: "transfer-to" });
    li.append(el("div", { class: "transfer" }, to,
      button("Transfer", ctl.transfer, () => send({ type: "transfer", callId: c.id, to: to.value }), null, reasons),
      button("Consult", ctl.consult, () => send({ type: "consult", callId: c.id, to: to.value }), null, reasons)));
    const keys = el("input", { placeholder: "Tones (0-9 * #)", "aria-label": "Tones to send", class: "digits-to", inputmode: "tel" });
    const sendTones = () => { send({ type: "digits", callId: c.id, digits: keys.value }); keys.value = ""; };
    keys.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); sendTones(); } });
    li.append(el("div", { class: "transfer" }, keys, button("Send tones", ctl.digits, sendTones, null, reasons)));
  }
  if (c.state === "held" && c.joinWith) {
    li.append(el("div", { class: "transfer" },
      button("Complete transfer", ctl.complete, () => send({ type: "complete", callId: c.id, with: c.joinWith }), null, reasons),
      button("Conference", ctl.complete, () => send({ type: "conference", callId: c.id, with: c.joinWith }), null, reasons)));
  }
}

function callMatches(c, li) {
  if (c.matches.length > 0) {
    const ul = el("ul", { class: "matches", "aria-label": "Possible callers" });
    for (const m of c.matches) {
      const chosen = m.contact.code === c.contact;
      ul.append(el("li", { class: chosen ? "chosen" : null },
        el("span", { class: "who" }, m.contact.fullName, el("small", {}, `${m.number} · ${m.contact.code}${m.contact.type ? " · " + m.contact.type : ""}`)),
        el("button", { type: "button", class: "load", title: `Show ${m.contact.fullName} on the Communication Centre`,
          on: { click: () => send({ type: "select", callId: c.id, contact: m.contact.code }) } }, chosen ? "Shown" : "This is the caller")));
    }
    li.append(ul);
  } else if (c.noMatch) {
    li.append(el("p", { class: "meta" }, "No customer has this number. ",
      el("button", { type: "button", class: "link search-manually", on: { click: () => $("dial").focus() } }, "Search manually")));
  }
}

function callCard(c) {
  const reasons = new Reasons("c" + c.id.replace(/\W/g, ""));
  const headingId = "h" + c.id.replace(/\W/g, "");
  const timer = el("span", { class: "timer", role: "timer", "data-from": c.timerFrom || null });
  const sub = c.matches.length > 1 && !c.contact ? `${c.number} · ${c.matches.length} possible callers` : c.number;
  const li = el("li", { class: c.state, "data-call": c.id, "aria-labelledby": headingId, "aria-busy": c.pending ? "true" : null },
    el("div", { class: "call-head" }, el("h2", { id: headingId, class: "heading" }, c.heading), timer),
    el("div", { class: "caller" }, c.parties ? "You, " + c.parties.join(" and ") : c.caller),
    c.caller !== sub ? el("div", { class: "number" }, sub) : null,
    c.state === "held" && c.heldFrom ? el("div", { class: "held-timer", "data-from": c.heldFrom, "data-prefix": "On hold " }) : null,
    c.pending ? el("p", { class: "pending", role: "status" }, PENDING[c.pending] || "Working…") : null,
    callControls(c, reasons));
  callTools(c, li, reasons);
  callMatches(c, li);
  li.querySelector(".controls").after(...reasons.nodes());
  return li;
}

// renderCalls updates the cards in place: a card whose call did not
// change keeps its elements, so focus, typed text and a pointer on a
// button survive updates.
function renderCalls(calls) {
  const ul = $("calls");
  const old = new Map([...ul.children].map((li) => [li.dataset.call, li]));
  const cards = calls.map((c) => {
    const { seconds, ...rest } = c;
    const sig = JSON.stringify(rest);
    let li = old.get(c.id);
    if (!li || li.dataset.sig !== sig) {
      const fresh = callCard(c);
      fresh.dataset.sig = sig;
      if (li) replaceKeepingFocus(li, fresh);
      li = fresh;
    }
    return li;
  });
  cards.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
  while (ul.children.length > cards.length) ul.lastElementChild.remove();
  tickTimers();
}

function replaceKeepingFocus(li, fresh) {
  for (const cls of ["transfer-to", "digits-to"]) {
    const typed = li.querySelector("input." + cls);
    const again = fresh.querySelector("input." + cls);
    if (typed && again) again.value = typed.value;
  }
  const focused = li.contains(document.activeElement) ? document.activeElement : null;
  li.replaceWith(fresh);
  if (focused) {
    const same = [...fresh.querySelectorAll("button, input")].find((x) => x.className === focused.className && (x.tagName === "INPUT" || x.textContent === focused.textContent));
    (same || fresh.querySelector("button")).focus();
  }
}

// renderList rebuilds a list only when what it shows changed (defect 7).
function renderList(ul, data, build) {
  const sig = JSON.stringify(data);
  if (ul.dataset.sig === sig) return;
  ul.dataset.sig = sig;
  const focusedIndex = [...ul.querySelectorAll("button")].indexOf(document.activeElement);
  ul.replaceChildren(...build());
  if (focusedIndex >= 0) (ul.querySelectorAll("button")[focusedIndex] || $("dial")).focus();
}

function renderResults(v) {
  const current = v.currentCall;
  renderList($("results"), [v.search, v.dial.enabled, current], () => {
    const items = v.search.results.map((c) => {
      const first = (c.phones || [])[0];
      return el("li", {},
        el("span", { class: "who" }, c.fullName, el("small", {}, `${c.code}${first ? " · " + first.raw : ""}`)),
        first ? el("button", { type: "button", title: `Call ${c.fullName}`, "aria-disabled": v.dial.enabled ? null : "true",
          on: { click: () => { if (v.dial.enabled) send({ type: "call", number: first.e164 || first.raw, contact: c.code }); } } }, "Call") : null,
        current ? el("button", { type: "button", class: "caller-btn", title: `${c.fullName} is the caller on the current call`,
          on: { click: () => send({ type: "select", contact: c.code }) } }, "Caller") : null);
    });
    if (v.search.error) items.push(el("li", { class: "error" }, v.search.error));
    else if (v.search.query && !v.search.busy && v.search.results.length === 0) items.push(el("li", { class: "meta" }, "No customer found."));
    return items;
  });
  $("search-more").hidden = !v.search.more;
}

function renderRecent(v) {
  renderList($("recent"), [v.recent, v.dial.enabled], () => v.recent.map((c) => {
    const kind = c.refused ? "Refused while Busy" : c.missed ? "Missed" : c.direction === "inbound" ? "Inbound" : "Outbound";
    const detail = [kind, c.when, c.seconds ? clock(c.seconds * 1000) : null,
      c.name !== c.number ? c.number : null, c.outcome].filter(Boolean).join(" · ");
    const who = c.name || c.number || "Unknown caller";
    return el("li", { class: c.refused ? "refused" : c.missed ? "missed" : null, "data-call": c.id },
      el("span", { class: "who" }, el("span", {}, who), el("small", {}, detail), c.note ? el("span", { class: "note" }, c.note) : null),
      el("span", { class: "actions" },
        el("button", { type: "button", class: "note-btn", title: `${c.note || c.disposition ? "Edit the note on" : "Add a note to"} the call with ${who}`,
          on: { click: () => send({ type: "wrap", callId: c.id }) } }, c.note || c.disposition ? "Edit note" : "Add note"),
        c.remote ? el("button", { type: "button", title: `Call ${who} again`, "aria-disabled": v.dial.enabled ? null : "true",
          on: { click: () => { if (view.dial.enabled) send({ type: "call", number: c.remote, contact: c.contact }); } } }, "Redial") : null));
  }));
}

// renderWrap shows the after-call note form. It fills the form only when
// it opens on a call, so that what the agent types survives every view;
// it takes the keyboard focus when the agent was working in the panel.
function renderWrap(v) {
  const w = v.wrap;
  $("wrap").hidden = !w;
  if (!w) { renderWrap.callId = null; return; }
  const select = $("wrap-outcome");
  if (select.options.length === 1) for (const o of w.options) select.append(el("option", { value: o.code }, o.label));
  $("wrap-save").setAttribute("aria-disabled", String(w.busy));
  $("wrap-save").textContent = w.busy ? "Saving…" : "Save note";
  if (renderWrap.callId === w.callId) return;
  renderWrap.callId = w.callId;
  $("wrap-who").textContent = w.caller + (w.number && w.number !== w.caller ? " · " + w.number : "");
  $("wrap-note").value = w.note || "";
  select.value = w.disposition || "";
  const active = document.activeElement;
  if (document.hasFocus() && (!active || active === document.body || !active.isConnected || active.closest("#recent"))) $("wrap-note").focus();
}
function saveNote() {
  if (!view || !view.wrap || view.wrap.busy) return;
  send({ type: "note", callId: view.wrap.callId, note: $("wrap-note").value, disposition: $("wrap-outcome").value });
}
$("wrap").addEventListener("submit", (e) => { e.preventDefault(); saveNote(); });
$("wrap-skip").addEventListener("click", () => send({ type: "skip" }));
$("wrap-note").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveNote(); } });
$("wrap").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); send({ type: "skip" }); $("dial").focus(); } });

const LINK_TEXT = { online: "connected", connecting: "connecting…", reconnecting: "reconnecting…", offline: "logged out", unconfigured: "not set up" };

function renderHeader(v) {
  const link = $("link");
  link.textContent = LINK_TEXT[v.connection] || v.connection;
  link.className = "badge " + v.connection;
  // The tooltip says why it is reconnecting, or which gateway serves (an
  // admin's question with an active/standby pair; the agent never needs it).
  link.title = v.connError && v.connection === "reconnecting" ? v.connError : v.connection === "online" && v.gateway ? "Connected to " + v.gateway : "";
  // The PBX badge says the link is down, or, just after a login at the
  // morning peak, that the switch is still being asked to watch the phone.
  const connectingPhone = v.loggedIn && v.pbx === "up" && v.phone === "connecting";
  $("pbx").hidden = !(v.loggedIn && (v.pbx !== "up" || connectingPhone));
  $("pbx").className = connectingPhone ? "badge connecting" : "badge down";
  $("pbx").textContent = connectingPhone ? "phone connecting…" : "PBX down";
  $("notice").hidden = !v.notice;
  $("notice").className = v.noticeKind || "error";
  if ($("notice-text").textContent !== (v.notice || "")) $("notice-text").textContent = v.notice || "";
  if (v.announceN !== renderHeader.announced) {
    renderHeader.announced = v.announceN;
    $("announce").textContent = v.announce || "";
  }
  $("fault").hidden = !v.fault;
  $("fault").textContent = v.fault || "";
  $("problems").hidden = !!v.fault || v.problems.length === 0;
  renderList($("problem-list"), v.problems, () => v.problems.map((p) => el("li", {}, p.message)));
  renderBadge(v);
}

// renderStatus is one radio group: one Tab stop, arrows move and choose.
function renderStatus(v) {
  for (const b of $("status").querySelectorAll("button")) {
    const on = b.dataset.status === v.status;
    b.setAttribute("aria-checked", String(on));
    b.tabIndex = on || (!v.status && b.dataset.status === "available") ? 0 : -1;
  }
}

function render(v) {
  if (!window.crmctiFirstRender) window.crmctiFirstRender = Date.now(); // read by the benchmark
  resuming = !!v.resuming && !v.loggedIn && !v.fault && v.problems.length === 0;
  if (resuming && view && view.loggedIn) {
    // The core resumes the agent's session (the worker was restarted):
    // her screen stays as it was, the link's state shown, until the
    // session is back; the login form would flash and take her focus.
    renderHeader({ ...view, connection: v.connection, connError: v.connError });
    return;
  }
  view = v;
  renderHeader(v);
  // A core that stopped, or settings that cannot work, replace the
  // panel's content with what is wrong and what to do.
  const blocked = !!v.fault || v.problems.length > 0;
  $("login").hidden = v.loggedIn || resuming || blocked;
  $("resuming").hidden = !resuming || blocked;
  $("main").hidden = !v.loggedIn || blocked;
  $("login-btn").disabled = v.loginBusy;
  $("login-error").textContent = v.loginError || "";
  if (!v.loggedIn) return;
  $("agent-name").textContent = v.agent.displayName;
  $("agent-ext").textContent = "ext. " + v.agent.extension;
  renderStatus(v);
  renderCalls(v.calls);
  renderWrap(v);
  $("dial-btn").setAttribute("aria-disabled", String(!v.dial.enabled));
  $("dial-reason").hidden = v.dial.enabled || !v.dial.reason;
  $("dial-reason").textContent = v.dial.enabled ? "" : v.dial.reason || "";
  $("dialing").hidden = !v.dialing;
  // A panel opened on a new page shows the search its results belong
  // to, not an empty box above them (defect 9).
  if (!render.filled) {
    render.filled = true;
    if (!$("dial").value && v.search.query) $("dial").value = v.search.query;
  }
  renderResults(v);
  renderRecent(v);
}

// inert empties the panel for good: no controls, no agent data. A
// collapsed dock (a 56-pixel badge) opens, or the words would be cut.
function lost() {
  inertWith(el("p", { id: "inert", class: "meta", role: "alert" }, "The CTI panel lost its extension: reload the page."));
}

function inert() {
  inertWith(el("p", { id: "inert", class: "meta" }, "The CTI panel works only inside your CRM page."));
}

function inertWith(p) {
  if (document.body.classList.contains("collapsed")) {
    document.body.classList.remove("collapsed");
    window.parent.postMessage({ crmcti: true, type: "collapse", collapsed: false }, "*"); // as toPage, which may not be defined yet
  }
  document.body.replaceChildren(p);
}

// renderDialRequest shows a call a page asked for, which waits for the
// agent: only their Call dials it.
function renderDialRequest(req) {
  $("dial-confirm").hidden = !req;
  if (!req) return;
  $("dial-confirm-text").textContent = `Call ${req.number}?` + (req.from ? ` (asked by the page at ${req.from})` : "");
}

function onPortMessage(msg) {
  if (msg.type === "refused") { refused = true; inert(); }
  if (msg.type === "confirmDial") renderDialRequest(msg.request);
  if (msg.type === "view") {
    render(JSON.parse(msg.view));
    if (!admitted) {
      admitted = true;
      redials = 0;
    }
    if (!resuming) flushWaiting();
  }
  if (msg.type === "focusTransfer") focusTransfer();
}
connectPort();

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send({ type: "login", username: $("username").value, password: $("password").value });
  $("password").value = "";
});
$("open-options").addEventListener("click", () => chrome.runtime.sendMessage({ type: "openOptions" }));
$("logout").addEventListener("click", () => send({ type: "logout" }));
$("notice-close").addEventListener("click", () => send({ type: "dismiss" }));
$("dial-confirm-call").addEventListener("click", () => post({ type: "confirmDial", call: true }));
$("dial-confirm-cancel").addEventListener("click", () => post({ type: "confirmDial", call: false }));

for (const b of $("status").querySelectorAll("button")) b.addEventListener("click", () => send({ type: "status", status: b.dataset.status }));
$("status").addEventListener("keydown", (e) => {
  if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(e.key)) return;
  e.preventDefault();
  const radios = [...$("status").querySelectorAll("button")];
  const next = radios[(radios.indexOf(document.activeElement) + 1) % radios.length];
  next.focus();
  send({ type: "status", status: next.dataset.status });
});

// The dial box: Enter calls what looks like a number when calling is
// possible, and otherwise searches, so that manual search works from the
// keyboard during a call (defect 2).
const looksLikeNumber = (q) => /^[+\d][\d\s().-]*$/.test(q);
function dialOrSearch() {
  const q = $("dial").value.trim();
  if (!q) return;
  if (looksLikeNumber(q) && view && view.dial.enabled) send({ type: "call", number: q });
  else send({ type: "search", query: q });
}
$("dial-form").addEventListener("submit", (e) => { e.preventDefault(); dialOrSearch(); });
$("dial").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); dialOrSearch(); } });
$("dial-btn").addEventListener("click", () => {
  const q = $("dial").value.trim();
  if (view && view.dial.enabled) send({ type: "call", number: q });
});
$("search-btn").addEventListener("click", () => send({ type: "search", query: $("dial").value.trim() }));
$("more-btn").addEventListener("click", () => send({ type: "search", query: view.search.query, page: view.search.page + 1 }));
$("recent-box").addEventListener("toggle", (e) => { if (e.target.open) send({ type: "recent" }); });

function focusTransfer() {
  const to = document.querySelector("#calls li.connected input.transfer-to");
  if (to) { window.focus(); to.focus(); }
}

// Shortcuts inside the panel; from the CRM page, the same keys come as
// chrome.commands through the service worker. The core picks the call.
document.addEventListener("keydown", (e) => {
  if (!view || !view.loggedIn || !e.altKey || !e.shiftKey) return;
  const type = { A: "answer", E: "hangup", H: "hold" }[e.key.toUpperCase()];
  if (type) send({ type });
  else if (e.key.toUpperCase() === "T") focusTransfer();
  else return;
  e.preventDefault();
});

// Placement. In a section the page sizes the frame to the panel's
// height; in the dock the panel can collapse to a badge.
const toPage = (msg) => window.parent.postMessage({ crmcti: true, ...msg }, "*");
if (mode === "side") {
  // The browser sizes the side panel; nothing to tell a page.
} else if (mode === "section") {
  // The body's own height: the document's is never less than the frame,
  // so it could grow and never shrink back.
  new ResizeObserver(() => toPage({ type: "height", height: Math.ceil(document.body.getBoundingClientRect().height) })).observe(document.body);
} else {
  $("collapse").hidden = false;
  chrome.storage.local.get("dockCollapsed").then(({ dockCollapsed }) => setCollapsed(!!dockCollapsed));
}
function setCollapsed(collapsed) {
  document.body.classList.toggle("collapsed", collapsed);
  $("badge").hidden = !collapsed;
  $("collapse").setAttribute("aria-expanded", String(!collapsed));
  toPage({ type: "collapse", collapsed });
  chrome.storage.local.set({ dockCollapsed: collapsed });
  if (view) renderBadge(view);
}
$("collapse").addEventListener("click", () => { setCollapsed(true); $("badge").focus(); });
$("badge").addEventListener("click", () => { setCollapsed(false); $("collapse").focus(); });

function renderBadge(v) {
  $("badge-link").className = "dot " + v.connection;
  $("badge-link").title = LINK_TEXT[v.connection] || v.connection;
  const ringing = v.calls.some((c) => c.state === "ringing");
  $("badge-ring").hidden = !ringing;
  const missed = v.recent.filter((c) => c.missed).length;
  $("badge-missed").hidden = missed === 0;
  $("badge-missed").textContent = String(missed);
  $("badge").setAttribute("aria-label", `Open the CTI panel: ${LINK_TEXT[v.connection] || v.connection}${ringing ? ", a call is ringing" : ""}${missed ? `, ${missed} missed` : ""}`);
}
