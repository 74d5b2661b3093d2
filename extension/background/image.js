// Getting the bytes of the image the user right-clicked: our own fetch first (with a timeout),
// then the page's content script, which can read blob: URLs, images that need the page's
// cookies, and the image actually shown by <picture>/srcset.
import { api } from "../utils/api.js";
import { Failure } from "../utils/failure.js";

const FETCH_TIMEOUT_MS = 15000;
const MAX_BYTES = 20 * 1024 * 1024; // the companion's limit

const fetchDirect = async (url) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: controller.signal, credentials: "omit" });
    if (!response.ok) throw new Failure("image_fetch_failed", `HTTP ${response.status}`);
    const blob = await response.blob();
    if (blob.size > MAX_BYTES) throw new Failure("image_too_large");
    return blob;
  } finally {
    clearTimeout(timer);
  }
};

/** A message to the content script of the frame that was right-clicked. */
const askPage = async (tab, frameId, message) => {
  if (!tab?.id || tab.id < 0) throw new Failure("reload_page", "no tab");
  try {
    return await api.tabs.sendMessage(tab.id, message, { frameId: frameId ?? 0 });
  } catch (error) {
    // No content script: the page was open before the extension was installed or updated.
    throw new Failure("reload_page", error.message);
  }
};

/** {blob, url}: the image under the last right-click. */
export const obtainImage = async (info, tab) => {
  let url = info.mediaType === "image" ? info.srcUrl : "";
  if (!url) {
    const found = await askPage(tab, info.frameId, { type: "stl:find-image" });
    if (!found?.url) throw new Failure("no_image");
    url = found.url;
  }
  if (/^(https?|data):/i.test(url)) {
    try {
      return { blob: await fetchDirect(url), url };
    } catch (error) {
      if (error instanceof Failure && error.code === "image_too_large") throw error;
      // otherwise the page may still read it (cookies, referrer checks): fall through
    }
  }
  const fromPage = await askPage(tab, info.frameId, { type: "stl:image-bytes", url });
  if (!fromPage?.dataUrl) throw new Failure("image_fetch_failed", url.slice(0, 200));
  return { blob: await (await fetch(fromPage.dataUrl)).blob(), url };
};
