// A small, self-contained message in the corner of the page. It lives in a closed shadow root
// so the page's styles cannot change it and the page's scripts cannot read it.
"use strict";

(() => {
  if (window.top !== window) return; // one toast per tab, in the top frame
  const SHOW_MS = { progress: 30000, success: 6000, error: 9000 };
  const COLOURS = { progress: "#185c7c", success: "#1d6b3a", error: "#9b1c1c" };
  const HEX = /^#[0-9a-f]{6}$/i;
  // Progress in the brand's colour (checked to be a plain colour); success and errors keep
  // theirs, so they read the same in every brand.
  const background = (kind, colour) =>
    kind === "progress" && HEX.test(colour ?? "") ? colour : (COLOURS[kind] ?? COLOURS.progress);
  let host = null;
  let timer = null;

  const show = (kind, text, colour) => {
    host?.remove();
    clearTimeout(timer);
    host = document.createElement("div");
    host.dataset.shopTheLook = kind; // lets tests (and curious users) find it; holds no text
    const root = host.attachShadow({ mode: "closed" });
    const box = document.createElement("div");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    box.style.cssText = [
      "position:fixed", "right:16px", "bottom:16px", "z-index:2147483647", "max-width:360px",
      "padding:12px 16px", "border-radius:8px", "font:14px/1.4 system-ui,sans-serif",
      "color:#fff", `background:${background(kind, colour)}`,
      "box-shadow:0 4px 16px rgba(0,0,0,.25)", "cursor:pointer",
    ].join(";");
    box.addEventListener("click", () => host?.remove());
    root.append(box);
    (document.body ?? document.documentElement).append(host);
    timer = setTimeout(() => host?.remove(), SHOW_MS[kind] ?? 6000);
  };

  STL.api.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (message?.type !== "stl:toast") return false;
    show(message.kind, message.text, message.colour);
    sendResponse({ shown: true });
    return false;
  });
})();
