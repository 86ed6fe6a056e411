// Content script: puts the CTI panel into the CRM page and turns phone
// numbers into call links. The panel is an extension page in an iframe
// inside a closed shadow root, on a host element reset with all:initial:
// page CSS cannot reach it, the page's CSP does not apply to it, and page
// key handlers never see the agent's keystrokes in it.
//
// Placement (settings panelMode and panelSelector):
//   section  the panel is an element of the CRM page, inside the element
//            panelSelector names (the Communication Centre's CTI place):
//            the page lays itself out around it;
//   dock     a column at the right edge; the page's content is pushed
//            aside (a margin on <html>), and it collapses to a badge.
//   side     the browser's side panel (the toolbar button opens it): the
//            page gets no panel of its own, only click-to-dial.
// A section whose element the page does not have falls back to the dock.
"use strict";
(() => {
  if (window.top !== window) return;
  // This script may run twice in a page (the registered script and an
  // injection into open tabs), and after the extension is updated or
  // reloaded the old one has lost the extension: its panel is dead. Only
  // a live script answers the ping (listeners run synchronously); a dead
  // one's host is replaced (issue 13).
  let answered = false;
  const pong = () => { answered = true; };
  document.addEventListener("crmcti-pong", pong);
  document.dispatchEvent(new CustomEvent("crmcti-ping"));
  document.removeEventListener("crmcti-pong", pong);
  if (answered) return;
  document.addEventListener("crmcti-ping", () => {
    if (chrome.runtime && chrome.runtime.id) document.dispatchEvent(new CustomEvent("crmcti-pong"));
  });
  const old = document.getElementById("crmcti-host");
  if (old) {
    old.remove();
    document.documentElement.style.removeProperty("margin-right");
  }

  const DOCK_WIDTH = 340, BADGE_WIDTH = 56;
  const host = document.createElement("div");
  host.id = "crmcti-host";
  const shadow = host.attachShadow({ mode: "closed" });
  const frame = document.createElement("iframe");
  frame.title = "CTI telephone panel";
  frame.setAttribute("allow", "");
  shadow.append(frame);
  const origin = new URL(chrome.runtime.getURL("")).origin;
  // The panel is admitted by the service worker only with this nonce,
  // registered from this tab as the frame starts to load and then bound
  // to the first frame that uses it (background.js): a page that
  // frames panel.html itself has none (clickjacking, issue 11, item 14).
  const nonce = crypto.randomUUID();

  async function place(settings) {
    if (settings.panelMode === "side") return; // the browser's side panel shows it
    const slot = settings.panelMode === "section" && settings.panelSelector ? document.querySelector(settings.panelSelector) : null;
    const mode = slot ? "section" : "dock";
    if (slot) {
      host.setAttribute("style", "all: initial; display: block; width: 100%;");
      frame.setAttribute("style", "all: initial; display: block; width: 100%; height: 420px; border: 0; background: #fff;");
      slot.append(host);
    } else {
      dock(false);
      document.documentElement.append(host);
    }
    host.dataset.mode = mode;
    frame.src = chrome.runtime.getURL("extension/panel.html") + "?mode=" + mode + "#" + nonce;
  }

  // dock sizes the column and pushes the page aside by as much.
  function dock(collapsed) {
    const w = collapsed ? BADGE_WIDTH : DOCK_WIDTH;
    host.setAttribute("style", `all: initial; position: fixed; top: 0; right: 0; bottom: 0; width: ${w}px; z-index: 2147483647;`);
    frame.setAttribute("style", `all: initial; display: block; width: ${w}px; height: ${collapsed ? "auto" : "100%"}; min-height: 64px; border: 0; border-left: 1px solid #c9d2de; background: #fff; box-shadow: -2px 0 8px rgba(0,0,0,.12);`);
    document.documentElement.style.setProperty("margin-right", w + "px", "important");
    host.dataset.collapsed = String(collapsed);
  }

  // The panel tells its height (section) or its collapsed state (dock).
  window.addEventListener("message", (e) => {
    if (e.source !== frame.contentWindow || e.origin !== origin || !e.data || !e.data.crmcti) return;
    if (e.data.type === "height" && host.dataset.mode === "section") frame.style.height = Math.min(Math.max(e.data.height, 120), 2000) + "px";
    if (e.data.type === "collapse" && host.dataset.mode === "dock") dock(!!e.data.collapsed);
  });

  // The nonce is registered while the settings are asked for, not after:
  // the panel's frame loads meanwhile, and the worker holds its
  // connection until the registration is done (background.js).
  chrome.runtime.sendMessage({ type: "panelNonce", nonce }).catch(() => false);
  chrome.runtime.sendMessage({ type: "settings" }).then(place, () => place({ panelMode: "dock" }));

  // Showing a customer: by URL, unless the page already shows it; or by
  // the Communication Centre's search, as a person would: type the code,
  // then press the button.
  chrome.runtime.onMessage.addListener((msg, sender, reply) => {
    if (msg.type !== "load") return;
    const e = msg.effect;
    reply(true);
    if (e.mode === "url") {
      if (location.href !== e.url) location.assign(e.url); // already on screen: no reload
      return;
    }
    const field = document.querySelector(e.field);
    const submit = document.querySelector(e.submit);
    if (!field || !submit) return;
    field.focus();
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(field, e.value);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
    submit.click();
  });

  // Click-to-dial (B4): numbers in text become links, never inside
  // inputs or editable areas, and follow the page as it changes. Dates
  // and times are not numbers to call (defect 8). The links keep the
  // page's text colour, marked only by a dotted underline. The core
  // validates and normalises the number when it is dialled.
  const PHONE = /(?:\+|00)?\d[\d\s().\-]{6,16}\d/g;
  const DATE = /^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$/;
  const SKIP = new Set(["SCRIPT", "STYLE", "TEXTAREA", "INPUT", "SELECT", "OPTION", "BUTTON", "A", "CODE", "PRE", "NOSCRIPT", "TIME"]);
  const LINK_STYLE = "color: inherit; font: inherit; text-decoration: none; border-bottom: 1px dotted currentColor; cursor: pointer;";

  function digits(s) { return s.replace(/\D/g, ""); }
  function dialable(text) {
    const n = digits(text);
    return n.length >= 7 && n.length <= 15 && !DATE.test(text.trim());
  }

  function linkify(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode(node) {
        for (let el = node.parentElement; el; el = el.parentElement) {
          if (SKIP.has(el.tagName) || el.isContentEditable || el.id === "crmcti-host" || el.classList.contains("crmcti-dial")) return NodeFilter.FILTER_REJECT;
        }
        PHONE.lastIndex = 0;
        return PHONE.test(node.data) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      },
    });
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) linkifyText(node);
  }

  function linkifyText(node) {
    const text = node.data;
    const frag = document.createDocumentFragment();
    let last = 0;
    PHONE.lastIndex = 0;
    for (const m of text.matchAll(PHONE)) {
      if (!dialable(m[0])) continue;
      frag.append(text.slice(last, m.index));
      const a = document.createElement("a");
      a.href = "#";
      a.className = "crmcti-dial";
      a.setAttribute("style", LINK_STYLE);
      a.dataset.number = m[0].trim();
      a.title = "Call " + m[0].trim() + " with CTI";
      a.textContent = m[0];
      frag.append(a);
      last = m.index + m[0].length;
    }
    if (last === 0) return;
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }

  // Only the agent's own click dials (isTrusted: the browser made the
  // event from a real pointer or key). A click a page script makes
  // (a.click(), dispatchEvent) is the page asking: the panel asks the
  // agent first, and nothing is dialled unless they say Call (issue 11,
  // item 13).
  document.addEventListener("click", (ev) => {
    const a = ev.target instanceof Element && ev.target.closest("a.crmcti-dial");
    if (!a) return;
    ev.preventDefault();
    const number = String(a.dataset.number || "").slice(0, 64);
    chrome.runtime.sendMessage({ type: ev.isTrusted ? "dial" : "dialRequest", number });
  }, true);

  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; linkify(document.body); }, 150);
  });
  // The links wait for the page to settle (this script runs as soon as
  // the document is parsed, for the panel's sake): rewriting text before
  // the page's own scripts have run could confuse them.
  const startLinks = () => {
    linkify(document.body);
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  };
  if (typeof requestIdleCallback === "function") requestIdleCallback(startLinks, { timeout: 300 });
  else setTimeout(startLinks, 0);
})();
