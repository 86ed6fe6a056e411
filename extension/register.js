// Content-script registration: the CTI panel goes on the CRM pages the
// settings name (crmUrlPatterns, from the admin's policy, else from the
// user's options), registered at run time with chrome.scripting, so a CRM
// at any address works without editing the manifest. The manifest declares
// host access broadly; the admin narrows it to the CRM's hosts by policy
// (ExtensionSettings runtime_blocked_hosts / runtime_allowed_hosts, which
// ctipack's templates set from the same crmUrlPatterns). Loopback pages
// get the panel only in a development install (the unpacked checkout:
// make demo and the tests), never in a packed one an admin ships.
"use strict";

// Firefox runs the background as scripts listed in its manifest (this file
// first); they have no importScripts, and need none: every script the
// service worker would import is already in that list.
if (typeof importScripts !== "function") globalThis.importScripts = () => {};

const CRMCTI_SCRIPT_ID = "crmcti-panel";
const CRMCTI_CONTENT_JS = "extension/content.js";
const CRMCTI_DEV_PATTERNS = ["http://127.0.0.1/*", "http://localhost/*"];

// crmctiList accepts a list, or one pattern per line (or comma) in a
// string, as an options field would store it.
function crmctiList(v) {
  if (Array.isArray(v)) return v.filter((s) => typeof s === "string" && s.trim()).map((s) => s.trim());
  if (typeof v === "string") return v.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  return null;
}

async function crmctiPatterns() {
  let policy = {};
  try {
    policy = await chrome.storage.managed.get("crmUrlPatterns");
  } catch (e) {
    // No managed storage (Firefox without a policy): the options decide.
  }
  const fromPolicy = crmctiList(policy.crmUrlPatterns);
  if (fromPolicy) return fromPolicy;
  const { options } = await chrome.storage.local.get("options");
  const fromOptions = crmctiList(options && options.crmUrlPatterns);
  if (fromOptions) return fromOptions;
  const self = await chrome.management.getSelf();
  return self.installType === "development" ? CRMCTI_DEV_PATTERNS : [];
}

// The panel goes in as soon as the page's document is parsed
// (document_end), not when the browser finds the page idle: that is up to
// 200 ms later in Chrome, on every CRM page the agent opens, and the
// panel was then the last thing on the screen.
const CRMCTI_RUN_AT = "document_end";

function crmctiScript(matches) {
  return { id: CRMCTI_SCRIPT_ID, matches, js: [CRMCTI_CONTENT_JS], runAt: CRMCTI_RUN_AT, persistAcrossSessions: true };
}

// crmctiRegister registers the patterns the browser accepts and names the
// ones it refuses, rather than losing every CRM page to one typo.
async function crmctiRegister(patterns) {
  try {
    await chrome.scripting.registerContentScripts([crmctiScript(patterns)]);
    return patterns;
  } catch (e) {
    const good = [];
    for (const p of patterns) {
      try {
        await chrome.scripting.registerContentScripts([crmctiScript([p])]);
        await chrome.scripting.unregisterContentScripts({ ids: [CRMCTI_SCRIPT_ID] });
        good.push(p);
      } catch (bad) {
        console.error(`CRM CTI: crmUrlPatterns: ${JSON.stringify(p)} is not a match pattern (e.g. https://crm.example.com/*): ${bad.message}`);
      }
    }
    if (good.length > 0) await chrome.scripting.registerContentScripts([crmctiScript(good)]);
    return good;
  }
}

// crmctiInjectOpenTabs puts the panel into CRM tabs that were open before
// the patterns named them (content.js ignores a second injection into a
// page whose panel is alive, and replaces a dead one).
async function crmctiInjectOpenTabs(patterns) {
  const tabs = await chrome.tabs.query({ url: patterns }).catch(() => []);
  for (const tab of tabs) {
    chrome.scripting.executeScript({ target: { tabId: tab.id }, files: [CRMCTI_CONTENT_JS] }).catch(() => {});
  }
}

// crmctiSync registers the wanted patterns. With reinject (after an
// install or update) it also injects into the open CRM tabs when the
// registration did not change: their old content script lost the
// extension, and the new one replaces its dead panel (content.js).
async function crmctiSync(reinject) {
  const wanted = await crmctiPatterns();
  const current = await chrome.scripting.getRegisteredContentScripts({ ids: [CRMCTI_SCRIPT_ID] });
  const have = current.length > 0 ? current[0].matches || [] : null;
  const same = have && current[0].runAt === CRMCTI_RUN_AT && JSON.stringify([...have].sort()) === JSON.stringify([...wanted].sort());
  if (same) {
    if (reinject === true && have.length > 0) await crmctiInjectOpenTabs(have);
    return;
  }
  if (have) await chrome.scripting.unregisterContentScripts({ ids: [CRMCTI_SCRIPT_ID] });
  if (wanted.length === 0) return;
  const registered = await crmctiRegister(wanted);
  if (registered.length > 0) await crmctiInjectOpenTabs(registered);
}

// Syncs run one after another: a policy arriving while the options are
// read must not leave two registrations racing.
let crmctiSyncing = Promise.resolve();
function crmctiSyncContentScripts(reinject) {
  crmctiSyncing = crmctiSyncing.then(() => crmctiSync(reinject === true)).catch((e) => console.error("CRM CTI: content script registration:", e));
  return crmctiSyncing;
}

// crmctiRegisterContentScripts keeps the registration in step with the
// settings: now, at browser start, after an install or update (Chrome
// drops registered scripts when the extension updates, and wakes the
// worker for onInstalled), and whenever the policy or the options change.
// The background calls it once, at the top level.
function crmctiRegisterContentScripts() {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === "managed" || (area === "local" && changes.options)) crmctiSyncContentScripts();
  });
  chrome.runtime.onStartup.addListener(crmctiSyncContentScripts);
  chrome.runtime.onInstalled.addListener(() => crmctiSyncContentScripts(true));
  return crmctiSyncContentScripts();
}
