// The panel renders the core's view and forwards the agent's intents.
// No decisions here: which buttons work, and why not, comes from the Go
// core (the gateway's own rules).
"use strict";

const $ = (id) => document.getElementById(id);
const port = chrome.runtime.connect({ name: "panel" });
const send = (intent) => port.postMessage({ type: "intent", intent });
let view = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined));
  return e;
}

function clock(s) {
  const m = Math.floor(s / 60), ss = String(s % 60).padStart(2, "0");
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const STATE_TEXT = { ringing: "Ringing", dialing: "Calling…", connected: "Connected", held: "On hold" };

// button renders a control from the view: enabled or not, with the reason
// and the shortcut in its tooltip.
function button(label, ctl, onClick, cls) {
  const tip = ctl.enabled ? (ctl.shortcut ? `${label} (${ctl.shortcut})` : label) : ctl.reason || label;
  const attrs = { type: "button", title: tip, "aria-label": label, class: cls, disabled: !ctl.enabled, on: { click: onClick } };
  if (ctl.shortcut) attrs["aria-keyshortcuts"] = ctl.shortcut.replaceAll("+", "+");
  return el("button", attrs, label);
}

function callCard(c) {
  const ctl = c.controls;
  const controls = el("div", { class: "controls" });
  if (c.state === "ringing") {
    controls.append(button("Accept", ctl.answer, () => send({ type: "answer", callId: c.id }), "primary"));
    if (!c.ignored) controls.append(el("button", { type: "button", on: { click: () => send({ type: "ignore", callId: c.id }) } }, "Ignore"));
  } else {
    if (c.state === "held") controls.append(button("Resume", ctl.retrieve, () => send({ type: "retrieve", callId: c.id })));
    else controls.append(button("Hold", ctl.hold, () => send({ type: "hold", callId: c.id })));
  }
  controls.append(button(c.state === "ringing" ? "Reject" : "End", ctl.hangup, () => send({ type: "hangup", callId: c.id }), "danger"));

  const li = el("li", { class: c.state, "data-call": c.id, "aria-label": `${STATE_TEXT[c.state] || c.state} ${c.caller}` },
    el("div", { class: "call-head" },
      el("span", { class: "caller" }, c.caller || "Unknown caller"),
      el("span", { class: "meta timer" }, clock(c.seconds))),
    el("div", { class: "meta" }, `${STATE_TEXT[c.state] || c.state} · ${c.direction === "inbound" ? "from" : "to"} ${c.remote || "unknown"}`),
    controls);

  if (c.state === "connected") {
    const to = el("input", { placeholder: "Transfer to…", "aria-label": "Transfer or consult number", class: "transfer-to" });
    li.append(el("div", { class: "transfer" }, to,
      button("Transfer", ctl.transfer, () => send({ type: "transfer", callId: c.id, to: to.value })),
      button("Consult", ctl.consult, () => send({ type: "consult", callId: c.id, to: to.value }))));
  }
  if (c.state === "connected") {
    const keys = el("input", { placeholder: "Tones (0-9 * #)", "aria-label": "Tones to send", class: "digits-to", inputmode: "tel" });
    li.append(el("div", { class: "transfer" }, keys,
      button("Send tones", ctl.digits, () => { send({ type: "digits", callId: c.id, digits: keys.value }); keys.value = ""; })));
  }
  if (c.state === "held" && c.joinWith) {
    li.append(el("div", { class: "transfer" },
      button("Complete transfer", ctl.complete, () => send({ type: "complete", callId: c.id, with: c.joinWith })),
      button("Conference", ctl.complete, () => send({ type: "conference", callId: c.id, with: c.joinWith }))));
  }
  if (c.matches.length > 0) {
    const ul = el("ul", { class: "matches", "aria-label": "Possible callers" });
    for (const m of c.matches) {
      ul.append(el("li", { class: m.contact.code === c.contact ? "chosen" : null },
        el("span", { class: "who" }, m.contact.fullName, el("small", {}, `${m.number} · ${m.contact.code}${m.contact.type ? " · " + m.contact.type : ""}`)),
        el("button", { type: "button", class: "load", title: `Show ${m.contact.fullName} on the Communication Centre`,
          on: { click: () => send({ type: "select", callId: c.id, contact: m.contact.code }) } }, m.contact.code === c.contact ? "Shown" : "This is the caller")));
    }
    li.append(ul);
  } else if (c.noMatch && c.state !== "ringing") {
    li.append(el("p", { class: "meta" }, "No customer has this number. ",
      el("button", { type: "button", class: "link search-manually", on: { click: () => { $("dial").focus(); } } }, "Search manually")));
  }
  return li;
}

// renderCalls updates the call cards in place: a card whose call did not
// change keeps its elements (only the timer ticks), so focus, typed text
// and a pointer on a button survive the once-a-second updates.
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
      if (li) {
        for (const cls of ["transfer-to", "digits-to"]) {
          const typed = li.querySelector("input." + cls);
          const again = fresh.querySelector("input." + cls);
          if (typed && again) again.value = typed.value;
        }
        const focused = li.contains(document.activeElement) ? document.activeElement : null;
        li.replaceWith(fresh);
        if (focused) {
          const same = [...fresh.querySelectorAll("button, input")].find((x) => x.className === focused.className && (x.tagName === "INPUT" || x.textContent === focused.textContent));
          if (same && !same.disabled) same.focus();
        }
      }
      li = fresh;
    }
    li.querySelector(".timer").textContent = clock(seconds);
    return li;
  });
  // Order and membership, moving only what moved.
  cards.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
  while (ul.children.length > cards.length) ul.lastElementChild.remove();
}

function render(v) {
  if (!window.crmctiFirstRender) window.crmctiFirstRender = Date.now(); // read by the benchmark
  view = v;
  const link = $("link");
  link.textContent = { online: "connected", connecting: "connecting…", reconnecting: "reconnecting…", offline: "logged out", unconfigured: "not set up" }[v.connection] || v.connection;
  link.className = "badge " + v.connection;
  if (v.connError && v.connection === "reconnecting") link.title = v.connError;
  $("pbx").hidden = !(v.loggedIn && v.pbx !== "up");
  $("pbx").className = "badge down";
  $("notice").hidden = !v.notice;
  $("notice-text").textContent = v.notice || "";
  if (v.announceN !== render.announced) {
    render.announced = v.announceN;
    $("announce").textContent = v.announce || "";
  }

  // A core that stopped, or settings that cannot work, replace the
  // panel's content with what is wrong and what to do.
  $("fault").hidden = !v.fault;
  $("fault").textContent = v.fault || "";
  $("problems").hidden = !!v.fault || v.problems.length === 0;
  $("problem-list").replaceChildren(...v.problems.map((p) => el("li", {}, p.message)));
  const blocked = !!v.fault || v.problems.length > 0;
  $("login").hidden = v.loggedIn || blocked;
  $("main").hidden = !v.loggedIn || blocked;
  $("login-btn").disabled = v.loginBusy;
  $("login-error").textContent = v.loginError || "";
  if (!v.loggedIn) return;

  $("agent-name").textContent = v.agent.displayName;
  $("agent-ext").textContent = "ext. " + v.agent.extension;
  for (const b of $("status").querySelectorAll("button")) b.setAttribute("aria-checked", String(b.dataset.status === v.status));
  renderCalls(v.calls);
  $("dial-btn").disabled = !v.dial.enabled;
  $("dial-btn").title = v.dial.enabled ? "Call this number" : v.dial.reason;

  const results = $("results");
  results.replaceChildren(...v.search.results.map((c) => {
    const phones = c.phones || [];
    const first = phones[0];
    return el("li", {},
      el("span", { class: "who" }, c.fullName, el("small", {}, `${c.code}${first ? " · " + first.raw : ""}`)),
      first ? el("button", { type: "button", title: `Call ${c.fullName}`, disabled: !v.dial.enabled,
        on: { click: () => send({ type: "call", number: first.e164 || first.raw, contact: c.code }) } }, "Call") : null,
      v.calls.length > 0 ? el("button", { type: "button", title: `${c.fullName} is the caller`,
        on: { click: () => send({ type: "select", callId: v.calls[0].id, contact: c.code }) } }, "Caller") : null);
  }));
  if (v.search.error) results.append(el("li", { class: "error" }, v.search.error));
  else if (v.search.query && !v.search.busy && v.search.results.length === 0) results.append(el("li", { class: "meta" }, "No customer found."));
  $("search-more").hidden = !v.search.more;

  $("recent").replaceChildren(...v.recent.map((c) => el("li", {},
    el("span", { class: "who" }, c.remote || "unknown", el("small", {}, `${c.direction} · ${c.state}${c.contact ? " · " + c.contact : ""}`)),
    c.remote ? el("button", { type: "button", title: "Call again", disabled: !v.dial.enabled,
      on: { click: () => send({ type: "call", number: c.remote, contact: c.contact }) } }, "Redial") : null)));
}

port.onMessage.addListener((msg) => {
  if (msg.type === "view") render(JSON.parse(msg.view));
});

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send({ type: "login", username: $("username").value, password: $("password").value });
  $("password").value = "";
});
$("open-options").addEventListener("click", () => chrome.runtime.sendMessage({ type: "openOptions" }));
$("logout").addEventListener("click", () => send({ type: "logout" }));
$("notice-close").addEventListener("click", () => send({ type: "dismiss" }));
for (const b of $("status").querySelectorAll("button")) b.addEventListener("click", () => send({ type: "status", status: b.dataset.status }));
$("dial-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("dial").value.trim();
  if (/^[+\d][\d\s().-]*$/.test(q)) send({ type: "call", number: q });
  else send({ type: "search", query: q });
});
$("search-btn").addEventListener("click", () => send({ type: "search", query: $("dial").value.trim() }));
$("more-btn").addEventListener("click", () => send({ type: "search", query: view.search.query, page: view.search.page + 1 }));
$("recent-box").addEventListener("toggle", (e) => { if (e.target.open) send({ type: "recent" }); });

// Shortcuts (B10): they act on the first call that can take the action.
document.addEventListener("keydown", (e) => {
  if (!view || !view.loggedIn || !e.altKey || !e.shiftKey) return;
  const first = (action) => view.calls.find((c) => c.controls[action] && c.controls[action].enabled);
  let c;
  switch (e.key.toUpperCase()) {
    case "A": if ((c = first("answer"))) send({ type: "answer", callId: c.id }); break;
    case "E": if ((c = first("hangup"))) send({ type: "hangup", callId: c.id }); break;
    case "H":
      if ((c = first("hold"))) send({ type: "hold", callId: c.id });
      else if ((c = first("retrieve"))) send({ type: "retrieve", callId: c.id });
      break;
    default: return;
  }
  e.preventDefault();
});
