// Options: shows the effective settings and lets the user change those the
// policy does not set. Before saving, the Go core checks the settings the
// extension would run with (the same check it makes when they arrive), so
// a typo is refused here with a message instead of stopping the panel.
// Stored in chrome.storage.local; the service worker restarts the core
// when they change.
"use strict";
const FIELDS = [
  ["gatewayUrl", "Gateway WebSocket URL"],
  ["gatewayUrls", "Gateways of an active/standby pair: WebSocket URLs, one a line, tried in order (replaces the URL above)", "lines"],
  ["customerLoad", "Load customers by", ["url", "search"]],
  ["contactUrlTemplate", "Customer URL template ({code})"],
  ["searchFieldSelector", "Search field selector"],
  ["searchSubmitSelector", "Search button selector"],
  ["defaultCountry", "Default country (two letters, e.g. CY)"],
  ["matchPolicy", "Several matches", ["list", "single"]],
  ["panelMode", "Panel placement", ["section", "dock", "side"]],
  ["panelSelector", "Section placement: CSS selector of the element to put the panel in"],
  ["crmUrlPatterns", "CRM addresses: match patterns, one a line (e.g. https://crm.example.com/*)", "lines"],
];
const $ = (id) => document.getElementById(id);

const PLACEHOLDERS = { crmUrlPatterns: "https://crm.example.com/*", gatewayUrls: "wss://cti-a.example.com/ws\nwss://cti-b.example.com/ws" };

// A "lines" field edits a list, one item a line (crmUrlPatterns,
// gatewayUrls).
function field(key, label, choices, s) {
  const lines = choices === "lines";
  const input = document.createElement(lines ? "textarea" : choices ? "select" : "input");
  input.id = key;
  if (lines) Object.assign(input, { rows: 3, placeholder: PLACEHOLDERS[key] || "" });
  for (const c of lines ? [] : choices || []) input.append(new Option(c, c));
  input.value = lines ? (s[key] || []).join("\n") : s[key] || "";
  input.disabled = (s.managedKeys || []).includes(key);
  const msg = document.createElement("span");
  msg.id = key + "-error";
  msg.className = "error";
  input.setAttribute("aria-describedby", msg.id);
  const l = document.createElement("label");
  l.append(label + (input.disabled ? " (set by your administrator)" : ""), input, msg);
  return l;
}

// show puts each problem next to its field (a list can have several, one
// per bad line) and marks the field invalid; problems with no field (or
// a locked one) go above the Save button.
function show(problems) {
  for (const [key] of FIELDS) {
    $(key + "-error").textContent = "";
    $(key).removeAttribute("aria-invalid");
  }
  $("saved").textContent = "";
  for (const p of problems) {
    const target = p.field && $(p.field + "-error");
    if (target) {
      target.textContent = target.textContent ? target.textContent + " " + p.message : p.message;
      $(p.field).setAttribute("aria-invalid", "true");
    } else $("saved").textContent = p.message;
  }
}

// showGateway says which gateway serves this browser now: with an
// active/standby pair, the first thing an admin asks.
async function showGateway() {
  const view = JSON.parse((await chrome.runtime.sendMessage({ type: "view" })) || "null");
  const text = view && view.gateway ? (view.connection === "online" ? "Connected to " : "Trying ") + view.gateway : "";
  if ($("gateway").textContent !== text) $("gateway").textContent = text;
}

chrome.runtime.sendMessage({ type: "settings" }).then(async (s) => {
  // The CRM addresses shown are the ones set (by policy or here), not the
  // core's default: with none set, a development install uses loopback
  // pages and a packed one none (extension/register.js), and saving the
  // form must not turn a default into a setting.
  const { options: stored } = await chrome.storage.local.get("options");
  if (!(s.managedKeys || []).includes("crmUrlPatterns")) s.crmUrlPatterns = (stored && stored.crmUrlPatterns) || [];
  if (typeof s.crmUrlPatterns === "string") s.crmUrlPatterns = s.crmUrlPatterns.split(/[\n,]/).map((p) => p.trim()).filter(Boolean);
  const form = $("form");
  for (const [key, label, choices] of FIELDS) form.append(field(key, label, choices, s));
  show(await chrome.runtime.sendMessage({ type: "validate" })); // a bad policy shows at once
  showGateway();
  setInterval(showGateway, 2000);
});

// formOptions merges the form into the stored options: a setting this
// page has no field for is kept, an emptied field goes back to its
// default, a locked one is left as stored.
async function formOptions() {
  const { options: stored } = await chrome.storage.local.get("options");
  const options = { ...(stored || {}) };
  for (const [key, , choices] of FIELDS) {
    const input = $(key);
    if (input.disabled) continue;
    const value = choices === "lines" ? input.value.split("\n").map((l) => l.trim()).filter(Boolean) : input.value.trim();
    if (value.length > 0) options[key] = value;
    else delete options[key];
  }
  return options;
}

$("save").addEventListener("click", async () => {
  const options = await formOptions();
  const problems = await chrome.runtime.sendMessage({ type: "validate", options });
  show(problems);
  // A problem in a setting the policy locks is the admin's: it is shown,
  // and does not stop the user saving theirs.
  if (problems.some((p) => !p.field || !$(p.field) || !$(p.field).disabled)) {
    $("saved").textContent = $("saved").textContent || "Not saved: correct the settings marked above.";
    $("saved").className = "error";
    return;
  }
  await chrome.storage.local.set({ options });
  $("saved").className = "";
  $("saved").textContent = "Saved.";
});
