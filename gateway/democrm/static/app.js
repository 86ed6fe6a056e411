// The demo CRM page's own script (the page allows only 'self' scripts).
// It loads a customer from the URL (/customers/{code}) or from the search
// field, and has keyboard handlers of its own, as a real CRM does.
"use strict";

const $ = (id) => document.getElementById(id);

function setStatus(text) { $("cc-status").textContent = text; }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

async function loadCustomer(code, push) {
  const res = await fetch("/api/customers/" + encodeURIComponent(code));
  if (!res.ok) {
    $("cc-customer").className = "empty";
    $("cc-customer").textContent = "No customer with code " + code + ".";
    setStatus("Customer " + code + " not found");
    return;
  }
  const c = await res.json();
  const dl = el("dl", {});
  const row = (k, v) => dl.append(el("dt", {}, k), el("dd", {}, v));
  row("Name", c.fullName);
  row("Code", c.code);
  row("Type", c.type || "");
  for (const p of c.phones || []) row(p.kind, p.number);
  if (c.email) row("Email", c.email);
  if (c.city) row("City", c.city);
  const box = $("cc-customer");
  box.className = "";
  box.dataset.code = c.code;
  box.replaceChildren(el("h3", { id: "cc-customer-name" }, c.fullName), dl);
  renderCommunications(c);
  if (push && location.pathname !== "/customers/" + c.code) history.pushState({ code: c.code }, "", "/customers/" + c.code);
  document.title = c.fullName + " — Communication Centre";
  setStatus("Loaded customer " + c.code);
}

// clearCustomer takes the last customer off the screen: a search that
// found nobody is not about them.
function clearCustomer(text) {
  const box = $("cc-customer");
  box.className = "empty";
  delete box.dataset.code;
  box.textContent = text;
  $("cc-communications").replaceChildren();
  document.title = "Communication Centre — CRM.COM (demo)";
}

function renderCommunications(c) {
  const subjects = ["Invoice question", "Service upgrade", "Payment arrangement", "Fault report", "Contract renewal"];
  const list = $("cc-communications");
  list.replaceChildren();
  const seed = parseInt(c.code.replace(/\D/g, ""), 10) || 1;
  for (let i = 0; i < 3; i++) {
    const day = ((seed * (i + 3)) % 27) + 1;
    list.append(el("li", {}, `2026-11-${String(day).padStart(2, "0")} · ${["Phone", "Email", "SMS"][(seed + i) % 3]} · ${subjects[(seed + i) % subjects.length]}`));
  }
}

async function search(q) {
  q = q.trim();
  if (!q) return;
  setStatus("Searching " + q + "…");
  const res = await fetch("/api/customers?q=" + encodeURIComponent(q));
  const list = await res.json();
  const ul = $("cc-results");
  ul.replaceChildren();
  for (const c of list) {
    const li = el("li", { tabindex: "0", "data-code": c.code }, `${c.fullName} (${c.code})`);
    li.addEventListener("click", () => loadCustomer(c.code, true));
    ul.append(li);
  }
  setStatus(list.length + " result(s) for " + q);
  if (list.length === 1) await loadCustomer(list[0].code, true);
  if (list.length === 0) clearCustomer("No customer matches " + q + ".");
}

document.addEventListener("DOMContentLoaded", () => {
  $("cc-search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search($("cc-search").value);
  });
  const m = location.pathname.match(/^\/customers\/([^/]+)$/);
  if (m) loadCustomer(decodeURIComponent(m[1]), false);
  window.addEventListener("popstate", () => {
    const m = location.pathname.match(/^\/customers\/([^/]+)$/);
    if (m) loadCustomer(decodeURIComponent(m[1]), false);
  });
});

// The page's own shortcuts: "/" focuses search, Escape clears it, and
// Alt+digit keys switch tabs in the real CRM (here they only say so). A
// panel that leaked keystrokes into the page would trigger these.
document.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLInputElement;
  if (e.key === "/" && !typing) {
    e.preventDefault();
    $("cc-search").focus();
  } else if (e.key === "Escape") {
    $("cc-search").value = "";
    $("cc-results").replaceChildren();
  } else if (e.altKey && /^[0-9]$/.test(e.key)) {
    setStatus("CRM shortcut Alt+" + e.key);
  }
  window.crmKeyLog = (window.crmKeyLog || 0) + 1;
});
