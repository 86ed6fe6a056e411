// Service worker: loads the Go wasm core and relays between it and the
// browser. Glue only — every decision is made in Go (wasm/client):
// this file starts the core with the effective settings, hands panel
// intents to it, fans its view out to every panel, and carries out the
// effects it asks for (notifications, showing a customer).
"use strict";
importScripts("wasm_exec.js");
importScripts("register.js"); // CRM pages get the panel (extension/register.js)
crmctiRegisterContentScripts();

const panels = new Set(); // ports of open panels, one per CRM tab
let lastView = null;
let lastCrmTab = null; // the CRM tab the agent used last: screen pops go there

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
// over the core's defaults. The first managed read after browser start
// can be slow; the panel never waits on it (the core starts with what is
// known and restarts when policy arrives).
async function managed() {
  try {
    return await Promise.race([
      chrome.storage.managed.get(null),
      new Promise((resolve) => setTimeout(() => resolve({}), 2500)),
    ]);
  } catch (e) {
    return {}; // no policy schema support (Firefox without policy)
  }
}

async function effectiveSettings(policy, options) {
  const defaults = JSON.parse(crmctiCore.defaults());
  if (options === undefined) ({ options } = await chrome.storage.local.get("options"));
  if (policy === undefined) policy = await managed();
  return { ...defaults, ...(options || {}), ...policy, managedKeys: Object.keys(policy) };
}

async function start(policy) {
  const settings = await effectiveSettings(policy);
  const { token } = await chrome.storage.session.get("token");
  crmctiCore.start(JSON.stringify(settings), token || "");
  return settings;
}

const core = (async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch(chrome.runtime.getURL("extension/core.wasm")), go.importObject);
  go.run(instance); // never resolves: the core runs for the worker's life
  // Start at once with what is known; the managed policy can take seconds
  // to arrive after a browser start, and restarts the core when it does.
  await start({});
  // How long the worker took from its start until the core runs: the
  // benchmark reads it (performance.now() counts from the worker's start).
  globalThis.crmctiColdStartMs = performance.now();
  managed().then((policy) => { if (Object.keys(policy).length > 0) start(policy); });
})();

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "managed" || (area === "local" && changes.options)) core.then(() => start());
});

self.addEventListener("online", () => core.then(() => crmctiCore.reconnect()));

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== "panel") return;
  panels.add(port);
  if (port.sender && port.sender.tab) lastCrmTab = port.sender.tab.id;
  core.then(() => port.postMessage({ type: "view", view: lastView || crmctiCore.view() }));
  port.onMessage.addListener((msg) => {
    if (port.sender && port.sender.tab) lastCrmTab = port.sender.tab.id;
    if (msg.type === "intent") core.then(() => crmctiCore.intent(JSON.stringify(msg.intent)));
  });
  port.onDisconnect.addListener(() => panels.delete(port));
});

chrome.runtime.onMessage.addListener((msg, sender, reply) => {
  if (msg.type === "focus" && sender.tab) lastCrmTab = sender.tab.id;
  if (msg.type === "dial") core.then(() => crmctiCore.intent(JSON.stringify({ type: "call", number: msg.number })));
  if (msg.type === "settings") {
    core.then(effectiveSettings).then(reply);
    return true; // async reply
  }
  if (msg.type === "validate") {
    // The settings the core would run with if these options were saved:
    // the core's own check (Go), so the options page and the core agree.
    core.then(() => effectiveSettings(undefined, msg.options)).then((s) => reply(JSON.parse(crmctiCore.validate(JSON.stringify(s)))));
    return true;
  }
  if (msg.type === "openOptions") chrome.runtime.openOptionsPage();
  return false;
});

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
      if (lastCrmTab === null) break;
      // The CRM tab's content script shows the customer (and leaves a page
      // that already shows them alone); a tab without it is navigated.
      chrome.tabs.sendMessage(lastCrmTab, { type: "load", effect: e }).catch(() => {
        if (e.mode === "url") chrome.tabs.update(lastCrmTab, { url: e.url });
      });
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

chrome.notifications.onClicked.addListener((id) => {
  if (lastCrmTab !== null) chrome.tabs.update(lastCrmTab, { active: true });
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
