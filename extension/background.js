// Service worker bootstrap: load the Go wasm core. All logic lives in Go;
// this file only starts it. (The panel and its wiring arrive with the
// extension issue.)
importScripts("wasm_exec.js");

const coreReady = (async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch(chrome.runtime.getURL("extension/core.wasm")), go.importObject);
  go.run(instance); // resolves only when the core exits; the core never does
  return globalThis.crmctiCore;
})();
