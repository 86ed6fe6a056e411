// Options: shows the effective settings and lets the user change those the
// policy does not set. Stored in chrome.storage.local; the service worker
// restarts the core when they change.
"use strict";
const FIELDS = [
  ["gatewayUrl", "Gateway WebSocket URL"],
  ["customerLoad", "Load customers by (url or search)"],
  ["contactUrlTemplate", "Customer URL template ({code})"],
  ["searchFieldSelector", "Search field selector"],
  ["searchSubmitSelector", "Search button selector"],
  ["defaultCountry", "Default country"],
  ["matchPolicy", "Several matches (list or single)"],
];
chrome.runtime.sendMessage({ type: "settings" }).then((s) => {
  const form = document.getElementById("form");
  for (const [key, label] of FIELDS) {
    const input = document.createElement("input");
    input.id = key;
    input.value = s[key] || "";
    input.disabled = (s.managedKeys || []).includes(key);
    const l = document.createElement("label");
    l.append(label + (input.disabled ? " (set by your administrator)" : ""), input);
    form.append(l);
  }
});
document.getElementById("save").addEventListener("click", async () => {
  const options = {};
  for (const [key] of FIELDS) {
    const input = document.getElementById(key);
    if (!input.disabled && input.value.trim()) options[key] = input.value.trim();
  }
  await chrome.storage.local.set({ options });
  document.getElementById("saved").textContent = "Saved.";
});
