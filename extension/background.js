// Service worker: loads the Go wasm core and relays between it and the
// browser. Glue only — every decision is made in Go (wasm/client):
// this file starts the core with the effective settings, hands panel
// intents to it, fans its view out to every panel, and carries out the
// effects it asks for (notifications, showing a customer).
"use strict";
// Started before anything else: core.wasm compiles on V8's background
// threads while the rest of the worker's scripts load and run, and the
// options and token are read from storage meanwhile (each read is a round
// trip to the browser). The core waits for all three below.
//
// The admin's policy is read too, but nothing waits for it: after a
// browser start Chromium answers the first chrome.storage.managed read
// only when its policy service is ready, about three seconds later
// (3.1–3.2 s measured with headless Chromium 156, policy or none). The
// core and the CRM pages' panels start at once with the policy as last
// read (LAST_POLICY, kept in local storage), and the fresh read replaces
// it when it comes; the core restarts only if the policy changed. Before,
// the first CRM page after a browser start showed its panel about 2.5 s
// late, and the core started on the user's options and restarted (a
// reconnect) once the policy came.
const LAST_POLICY = "lastPolicy";
const coreT0 = performance.now();
const coreModule = WebAssembly.compileStreaming(fetch(chrome.runtime.getURL("extension/core.wasm")));
const coreStored = Promise.all([chrome.storage.local.get(["options", LAST_POLICY]), chrome.storage.session.get("token")])
  .then(([local, { token }]) => ({ options: local.options || {}, lastPolicy: local[LAST_POLICY] || {}, token }));
async function readPolicy() {
  try {
    return (await chrome.storage.managed.get(null)) || {};
  } catch (e) {
    return {}; // no policy schema support (Firefox without policy)
  }
}
// freshPolicy is the policy as read since the worker started: null until
// the first read answers.
let freshPolicy = null;
const policyRead = readPolicy().then((p) => (freshPolicy = freshPolicy || p));
importScripts("wasm_exec.js");
importScripts("register.js"); // CRM pages get the panel (extension/register.js)
crmctiRegisterContentScripts();

const panels = new Set(); // ports of admitted panels, one per CRM tab (and the side panel)
let lastView = null;
// actedTab is the CRM tab whose panel (or phone number) the agent used
// last: screen pops go there (issue 11, item 15), not to whichever
// matching page had the focus last.
let actedTab = null;
// pendingDial is a call a page asked for (a click no person made): it
// waits for the agent's Call or Cancel in the panel (issue 11, item 13).
let pendingDial = null;

globalThis.crmctiHost = {
  view(json) {
    lastView = json;
    for (const p of panels) p.postMessage({ type: "view", view: json });
  },
  effect(json) {
    runEffect(JSON.parse(json));
  },
  saveToken(token) {
    chrome.storage.session.set({ token });
  },
};

// Settings: the admin's policy wins over the user's options, which win
// over the core's defaults. managed is the policy: as read since the
// worker started, or as last read until then (LAST_POLICY): nothing
// waits for the first read after a browser start.
async function managed() {
  return freshPolicy || (await coreStored).lastPolicy;
}

async function effectiveSettings(policy, options) {
  const defaults = JSON.parse(crmctiCore.defaults());
  if (options === undefined) ({ options } = await chrome.storage.local.get("options"));
  if (policy === undefined) policy = await managed();
  // The gateway URLs are one setting: a policy that sets either locks
  // both, or a user's list would replace the admin's gateway.
  const locked = "gatewayUrl" in policy || "gatewayUrls" in policy ? ["gatewayUrl", "gatewayUrls"] : [];
  const mine = { ...(options || {}) };
  for (const k of locked) delete mine[k];
  return { ...defaults, ...mine, ...policy, managedKeys: [...new Set([...Object.keys(policy), ...locked])] };
}

// settingsCache is the effective settings the content script asks for
// on every CRM page it loads (where the panel goes), read from storage
// once instead of twice a page: built when first asked for (not from
// what the worker read at its start: the options may have changed since,
// and a stale copy would stick), and dropped when the policy or the
// options change, or the read failed.
let settingsCache = null;
const cachedSettings = () =>
  (settingsCache ||= effectiveSettings().catch((e) => {
    settingsCache = null;
    throw e;
  }));

// start (re)starts the core with the effective settings. stored, when
// given, is what the worker's start already read from storage: the user's
// options and the session's token.
async function start(policy, stored) {
  const settings = await effectiveSettings(policy, stored && stored.options);
  const { token } = stored || (await chrome.storage.session.get("token"));
  crmctiCore.start(JSON.stringify(settings), token || "");
  return settings;
}

const core = (async () => {
  const go = new Go();
  // Compiled while it downloads (started at the top), then instantiated:
  // the same work as instantiateStreaming, timed apart for the benchmark.
  const t0 = coreT0;
  const module = await coreModule;
  const t1 = performance.now();
  const instance = await WebAssembly.instantiate(module, go.importObject);
  const t2 = performance.now();
  go.run(instance); // never resolves: the core runs for the worker's life
  const t3 = performance.now();
  // Start at once with what is known: the policy as last read (see
  // LAST_POLICY above).
  const stored = await coreStored;
  await start(stored.lastPolicy, stored);
  // How long the worker took from its start until the core runs: the
  // benchmark reads it (performance.now() counts from the worker's start).
  globalThis.crmctiColdStartMs = performance.now();
  globalThis.crmctiColdStartPhases = { scriptMs: t0, compileMs: t1 - t0, instantiateMs: t2 - t1, goStartMs: t3 - t2, settingsMs: performance.now() - t3 };
  policyRead.then((policy) => {
    if (JSON.stringify(policy) === JSON.stringify(stored.lastPolicy)) return;
    chrome.storage.local.set({ [LAST_POLICY]: policy });
    settingsCache = null;
    start(policy);
  });
})();

chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area === "managed") {
    const policy = await readPolicy();
    freshPolicy = policy;
    chrome.storage.local.set({ [LAST_POLICY]: policy });
  }
  if (area === "managed" || (area === "local" && changes.options)) {
    settingsCache = null;
    core.then(() => start());
  }
});

self.addEventListener("online", () => core.then(() => crmctiCore.reconnect()));

// Panels. panel.html is web-accessible (the content script frames it into
// CRM pages), so any page could frame it too and trick the agent into
// clicks (clickjacking, issue 11, item 14). A framed panel is admitted
// only with the nonce our content script registered for this tab and
// page, and only the first frame to use it (panelAllowed); the browser's
// side panel and a panel opened as a page of its own are frames nobody
// can overlay. A refused panel gets no view, no agent data, and renders
// nothing.
const NONCES = "panelNonces";

async function registerNonce(nonce, sender) {
  if (typeof nonce !== "string" || nonce.length < 16 || !sender.tab || sender.frameId !== 0 || !sender.url) return false;
  const { [NONCES]: all = {} } = await chrome.storage.session.get(NONCES);
  for (const [k, v] of Object.entries(all)) if (v.tabId === sender.tab.id) delete all[k]; // one live panel per tab
  all[nonce] = { tabId: sender.tab.id, origin: new URL(sender.url).origin };
  await chrome.storage.session.set({ [NONCES]: all });
  return true;
}

// registering holds the registrations under way, by nonce: the content
// script frames the panel without waiting for its nonce's registration,
// so the panel's connection may come first and waits for it.
const registering = new Map();

function registerNonceMessage(nonce, sender) {
  const p = registerNonce(nonce, sender);
  if (typeof nonce === "string") {
    registering.set(nonce, p);
    p.finally(() => registering.delete(nonce));
  }
  return p;
}

async function panelAllowed(port) {
  const s = port.sender || {};
  if (!s.tab) return true; // the browser's side panel
  if (s.frameId === 0) return true; // a tab of its own: not framed by any page
  const nonce = port.name.slice("panel:".length);
  await (registering.get(nonce) || Promise.resolve()).catch(() => {});
  // One check at a time: two frames racing with one nonce must not both
  // find it unbound.
  const turn = nonceChecks.then(() => bindNonce(nonce, s));
  nonceChecks = turn.catch(() => {});
  return turn;
}
let nonceChecks = Promise.resolve();

// bindNonce admits the frame s with nonce: the first frame of the page
// it was registered for owns it (its document, or its frame where the
// browser gives no documentId), and only that panel connects with it
// again, after this worker was stopped and started (panel.js
// reconnects). A frame of another tab or origin is refused and binds
// nothing, so a leaked nonce cannot lock the page's own panel out; a
// nonce that leaks after the panel connected admits nothing.
async function bindNonce(nonce, s) {
  const { [NONCES]: all = {} } = await chrome.storage.session.get(NONCES);
  const n = all[nonce];
  if (!n) return false;
  const samePage = n.tabId === s.tab.id && (!s.tab.url || new URL(s.tab.url).origin === n.origin);
  if (!samePage) return false;
  const frame = s.documentId || "frame:" + s.frameId;
  if (n.frame) return frame === n.frame;
  all[nonce] = { ...n, frame };
  await chrome.storage.session.set({ [NONCES]: all });
  return true;
}

function actedIn(port) {
  if (port.sender && port.sender.tab) actedTab = port.sender.tab.id;
}

function toPanels(msg) {
  for (const p of panels) p.postMessage(msg);
}

async function admitPanel(port) {
  let open = true;
  port.onDisconnect.addListener(() => { open = false; panels.delete(port); });
  if (!(await panelAllowed(port))) {
    if (open) { port.postMessage({ type: "refused" }); port.disconnect(); }
    return;
  }
  if (!open) return;
  panels.add(port);
  port.onMessage.addListener((msg) => {
    if (msg.type === "intent") {
      actedIn(port);
      core.then(() => crmctiCore.intent(JSON.stringify(msg.intent)));
    }
    if (msg.type === "confirmDial") {
      actedIn(port);
      answerDialRequest(msg.call === true);
    }
  });
  await core;
  port.postMessage({ type: "view", view: lastView || crmctiCore.view() });
  port.postMessage({ type: "confirmDial", request: pendingDial });
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name === "panel" || port.name.startsWith("panel:")) admitPanel(port);
});

// A dial a page asked for waits for the agent: every panel shows "Call
// …? Call / Cancel" (B1: every panel is a view of the same state).
function requestDial(number, sender) {
  let from = "";
  try { from = new URL(sender.url).host; } catch (e) { /* no page address */ }
  const req = { number, from };
  pendingDial = req;
  toPanels({ type: "confirmDial", request: req });
  // A request nobody answered does not wait for ever: a "Call …?" found
  // minutes later is no longer what the agent was doing.
  setTimeout(() => { if (pendingDial === req) answerDialRequest(false); }, 120000);
}

function answerDialRequest(call) {
  const req = pendingDial;
  pendingDial = null;
  toPanels({ type: "confirmDial", request: null });
  if (call && req) core.then(() => crmctiCore.intent(JSON.stringify({ type: "call", number: req.number })));
}

chrome.runtime.onMessage.addListener((msg, sender, reply) => {
  const fromPage = sender.tab && sender.frameId === 0 && sender.id === chrome.runtime.id;
  if (msg.type === "dial" && fromPage) {
    actedTab = sender.tab.id; // the agent clicked a number in this tab
    core.then(() => crmctiCore.intent(JSON.stringify({ type: "call", number: String(msg.number) })));
  }
  if (msg.type === "dialRequest" && fromPage) requestDial(String(msg.number), sender);
  if (msg.type === "panelNonce") {
    registerNonceMessage(msg.nonce, sender).then(reply, () => reply(false));
    return true;
  }
  if (msg.type === "settings") {
    core.then(cachedSettings).then(reply);
    return true; // async reply
  }
  if (msg.type === "validate") {
    // The settings the core would run with if these options were saved:
    // the core's own check (Go), so the options page and the core agree.
    core.then(() => effectiveSettings(undefined, msg.options)).then((s) => reply(JSON.parse(crmctiCore.validate(JSON.stringify(s)))));
    return true;
  }
  if (msg.type === "view" && (sender.url || "").startsWith(chrome.runtime.getURL("extension/options.html"))) {
    core.then(() => reply(lastView || crmctiCore.view())); // the options page: which gateway serves
    return true;
  }
  if (msg.type === "openOptions") chrome.runtime.openOptionsPage();
  return false;
});

// crmTabs are the tabs that are CRM pages: those with an admitted panel,
// and those the registered content script matches (placement "side" has
// no panel in the page).
async function crmTabs() {
  const ids = new Set();
  for (const p of panels) if (p.sender && p.sender.tab) ids.add(p.sender.tab.id);
  const [reg] = await chrome.scripting.getRegisteredContentScripts({ ids: [CRMCTI_SCRIPT_ID] }).catch(() => []);
  if (reg && reg.matches && reg.matches.length > 0) {
    for (const t of await chrome.tabs.query({ url: reg.matches }).catch(() => [])) ids.add(t.id);
  }
  return ids;
}

// popTarget is the CRM tab the agent is working in: the one whose panel
// they acted in last, else the active tab of the focused window if it is
// a CRM tab; never a tab of another site, and null when there is none.
async function popTarget() {
  const crm = await crmTabs();
  if (actedTab !== null && crm.has(actedTab)) return actedTab;
  const [active] = await chrome.tabs.query({ active: true, lastFocusedWindow: true }).catch(() => []);
  return active && crm.has(active.id) ? active.id : null;
}

async function showCustomer(e) {
  const tab = await popTarget();
  if (tab === null) return;
  // The CRM tab's content script shows the customer (and leaves a page
  // that already shows them alone); a tab without it is navigated.
  chrome.tabs.sendMessage(tab, { type: "load", effect: e }).catch(() => {
    if (e.mode === "url") chrome.tabs.update(tab, { url: e.url });
  });
}

function runEffect(e) {
  switch (e.kind) {
    case "notify":
      chrome.notifications.create("call:" + e.callId, {
        type: "basic",
        iconUrl: chrome.runtime.getURL("extension/icons/icon128.png"),
        title: e.title,
        message: e.body,
        buttons: [{ title: "Accept" }, { title: "Ignore" }],
        requireInteraction: true,
        priority: 2,
      });
      break;
    case "unnotify":
      chrome.notifications.clear("call:" + e.callId);
      break;
    case "load":
      showCustomer(e);
      break;
  }
}

// onNotificationButton: Accept (0) answers, Ignore (1) silences.
function onNotificationButton(id, button) {
  if (!id.startsWith("call:")) return;
  const callId = id.slice(5);
  core.then(() => crmctiCore.intent(JSON.stringify({ type: button === 0 ? "answer" : "ignore", callId })));
  chrome.notifications.clear(id);
}
chrome.notifications.onButtonClicked.addListener(onNotificationButton);

chrome.notifications.onClicked.addListener(async () => {
  const tab = await popTarget();
  if (tab !== null) chrome.tabs.update(tab, { active: true });
});

// Shortcuts from anywhere in the browser (chrome.commands; the agent can
// change them at chrome://extensions/shortcuts). The core picks the call.
function onCommand(command, tab) {
  const type = { accept: "answer", end: "hangup", hold: "hold" }[command];
  if (type) core.then(() => crmctiCore.intent(JSON.stringify({ type })));
  if (command === "transfer") {
    for (const p of panels) if (!tab || !p.sender.tab || p.sender.tab.id === tab.id) p.postMessage({ type: "focusTransfer" });
  }
}
chrome.commands.onCommand.addListener(onCommand);

// The toolbar button opens the side panel (placement "side", or any time
// the agent prefers it); the browser then narrows the page beside it.
if (chrome.sidePanel) chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: true }).catch(() => {});
