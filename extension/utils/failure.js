// Everything that can go wrong, as a code the user sees a localised sentence for.
import { t } from "./api.js";

export class Failure extends Error {
  /** `code`: one of FAILURE_MESSAGES' keys (or the companion's own error code). */
  constructor(code, detail = "") {
    super(`${code}${detail ? `: ${detail}` : ""}`);
    this.code = code;
    this.detail = detail;
  }
}

// The companion's error codes (and our own) → the messages.json key the user reads.
const FAILURE_MESSAGES = {
  companion_not_running: "errNotRunning",
  companion_timeout: "errTimeout",
  companion_bad_answer: "errNotRunning",
  not_paired: "errNotPaired",
  auth_missing: "errNotPaired",
  auth_invalid: "errNotPaired",
  origin_forbidden: "errNotPaired",
  host_forbidden: "errNotRunning",
  no_image: "errNoImage",
  reload_page: "errReloadPage",
  image_fetch_failed: "errImageUnreadable",
  image_unreadable: "errImageUnreadable",
  image_corrupt: "errImageUnreadable",
  image_empty: "errImageUnreadable",
  image_missing: "errImageUnreadable",
  unsupported_media_type: "errImageUnreadable",
  image_too_large: "errImageTooLarge",
  body_too_large: "errImageTooLarge",
  image_too_complex: "errImageTooLarge",
  image_too_small: "errImageTooSmall",
  look_timeout: "errTimeout",
  busy: "errBusy",
  no_garments: "errNoGarments",
  catalog_missing: "errCatalog",
  catalog_embedder_mismatch: "errCatalog",
  model_corrupt: "errCatalog",
  pairing_refused: "errPairingRefused",
  pairing_busy: "errPairingBusy",
  permission_denied: "errPermission",
};

/** The sentence to show for any thrown value. */
export const describeFailure = (error) => {
  const code = error instanceof Failure ? error.code : "unexpected";
  return t(FAILURE_MESSAGES[code] ?? "errUnexpected");
};
