// Content script: puts the CTI panel into the CRM page and turns phone
// numbers into call links. The panel is an extension page in an iframe
// inside a closed shadow root, on a host element reset with all:initial:
// page CSS cannot reach it, the page's CSP does not apply to it, and page
// key handlers never see the agent's keystrokes in it.
"use strict";
(() => {
  if (window.top !== window || document.getElementById("crmcti-host")) return;

  const host = document.createElement("div");
  host.id = "crmcti-host";
  host.setAttribute("style", "all: initial; position: fixed; right: 16px; bottom: 16px; z-index: 2147483647;");
  const shadow = host.attachShadow({ mode: "closed" });
  const frame = document.createElement("iframe");
  frame.src = chrome.runtime.getURL("extension/panel.html");
  frame.title = "CTI telephone panel";
  frame.setAttribute("allow", "");
  frame.setAttribute("style", "all: initial; display: block; width: 360px; height: 560px; border: 0; border-radius: 10px; box-shadow: 0 6px 24px rgba(0,0,0,.25); background: #fff;");
  shadow.append(frame);
  document.documentElement.append(host);

  const tellFocus = () => chrome.runtime.sendMessage({ type: "focus" }).catch(() => {});
  window.addEventListener("focus", tellFocus);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tellFocus(); });
  tellFocus();

  // Showing a customer by the Communication Centre's search, as a person
  // would: type the code, then press the button.
  chrome.runtime.onMessage.addListener((msg) => {
    if (msg.type !== "load") return;
    const e = msg.effect;
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
  // inputs or editable areas, and follow the page as it changes. The core
  // validates and normalises the number when it is dialled.
  const PHONE = /(?:\+|00)?\d[\d\s().\-]{6,16}\d/g;
  const SKIP = new Set(["SCRIPT", "STYLE", "TEXTAREA", "INPUT", "SELECT", "OPTION", "BUTTON", "A", "CODE", "PRE", "NOSCRIPT"]);

  function digits(s) { return s.replace(/\D/g, ""); }

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
    for (const node of nodes) {
      const text = node.data;
      const frag = document.createDocumentFragment();
      let last = 0;
      PHONE.lastIndex = 0;
      for (const m of text.matchAll(PHONE)) {
        const n = digits(m[0]);
        if (n.length < 7 || n.length > 15) continue;
        frag.append(text.slice(last, m.index));
        const a = document.createElement("a");
        a.href = "#";
        a.className = "crmcti-dial";
        a.dataset.number = m[0].trim();
        a.title = "Call " + m[0].trim() + " with CTI";
        a.textContent = m[0];
        frag.append(a);
        last = m.index + m[0].length;
      }
      if (last === 0) continue;
      frag.append(text.slice(last));
      node.replaceWith(frag);
    }
  }

  document.addEventListener("click", (ev) => {
    const a = ev.target instanceof Element && ev.target.closest("a.crmcti-dial");
    if (!a) return;
    ev.preventDefault();
    chrome.runtime.sendMessage({ type: "dial", number: a.dataset.number });
  }, true);

  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; linkify(document.body); }, 150);
  });
  linkify(document.body);
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
})();
