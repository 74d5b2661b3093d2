// Remembers where the user last right-clicked, and answers the background's two questions:
// which image lies there (an <img>, <picture>, poster or a CSS background), and its bytes as
// the page itself can read them (blob: URLs, cookies, same-origin canvas).
"use strict";

(() => {
  let lastClick = null;

  document.addEventListener("contextmenu", (event) => {
    lastClick = { x: event.clientX, y: event.clientY };
  }, true);

  const absolute = (url) => new URL(url, document.baseURI).href;

  /** The first url(...) of a computed background-image, or null. */
  const cssImageUrl = (value) => {
    const match = /url\(\s*(['"]?)(.*?)\1\s*\)/.exec(value ?? "");
    return match && match[2] ? absolute(match[2]) : null;
  };

  const imageOf = (element) => {
    if (element instanceof HTMLImageElement && (element.currentSrc || element.src)) {
      return { url: element.currentSrc || element.src, kind: "img" };
    }
    if (element instanceof HTMLPictureElement) {
      const img = element.querySelector("img");
      if (img && (img.currentSrc || img.src)) return { url: img.currentSrc || img.src, kind: "img" };
    }
    if (element instanceof HTMLVideoElement && element.poster) {
      return { url: absolute(element.poster), kind: "poster" };
    }
    if (element instanceof SVGImageElement && element.href?.baseVal) {
      return { url: absolute(element.href.baseVal), kind: "svg-image" };
    }
    for (const pseudo of [null, "::before", "::after"]) {
      const url = cssImageUrl(getComputedStyle(element, pseudo).backgroundImage);
      if (url) return { url, kind: "background" };
    }
    return null;
  };

  const findImage = () => {
    if (!lastClick) return null;
    for (const element of document.elementsFromPoint(lastClick.x, lastClick.y)) {
      const found = imageOf(element);
      if (found) return found;
    }
    return null;
  };

  const blobToDataUrl = (blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });

  /** The bytes as a data: URL (messages cannot carry binary in every browser), or null. */
  const imageBytes = async (url) => {
    try {
      const response = await fetch(url, { credentials: "include" });
      if (response.ok) return await blobToDataUrl(await response.blob());
    } catch {
      // cross-origin without CORS: try the pixels the page already shows
    }
    const shown = [...document.images].find(
      (img) => (img.currentSrc || img.src) === url && img.complete && img.naturalWidth > 0);
    if (!shown) return null;
    try {
      const canvas = document.createElement("canvas");
      canvas.width = shown.naturalWidth;
      canvas.height = shown.naturalHeight;
      canvas.getContext("2d").drawImage(shown, 0, 0);
      return canvas.toDataURL("image/png"); // throws on a cross-origin (tainted) canvas
    } catch {
      return null;
    }
  };

  STL.api.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (message?.type === "stl:find-image") {
      sendResponse(findImage());
      return false;
    }
    if (message?.type === "stl:image-bytes") {
      imageBytes(message.url).then((dataUrl) => sendResponse({ dataUrl }),
        () => sendResponse({ dataUrl: null }));
      return true; // answer asynchronously
    }
    return false;
  });
})();
