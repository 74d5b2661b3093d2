// The options page: is the companion running, pair with it, change its port, test the link.
"use strict";

const $ = (id) => document.getElementById(id);

const say = (element, text, good) => {
  element.textContent = text;
  element.className = good === undefined ? "" : good ? "ok" : "bad";
};

const localise = () => {
  document.documentElement.lang = STL.api.i18n.getUILanguage();
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = STL.t(element.dataset.i18n);
  }
};

const showStatus = async () => {
  const settings = await STL.settings.load();
  $("port").value = settings.port;
  try {
    const answer = await STL.companion.ping(settings);
    say($("status"), STL.t("statusRunning", [String(settings.port), String(answer.version)]), true);
  } catch {
    say($("status"), STL.t("statusNotRunning", [String(settings.port)]), false);
  }
  say($("pairing-state"), settings.token
    ? STL.t("pairedSince", [new Date(settings.pairedAt).toLocaleString()])
    : STL.t("notPaired"), Boolean(settings.token));
  $("unpair").hidden = !settings.token;
  const last = await STL.settings.lastResult();
  $("last-look").textContent = !last ? STL.t("lastLookNone")
    : last.ok ? STL.t(last.inPanel ? "lookDone" : "lookDoneNoPanel",
      [String(last.garments), String(last.matches)])
    : STL.describeFailure(new STL.Failure(last.code));
};

const testConnection = async () => {
  const settings = await STL.settings.load();
  say($("test-result"), STL.t("testing"));
  try {
    await STL.companion.ping(settings);
    await STL.companion.session(settings);
    say($("test-result"), STL.t("testOk"), true);
  } catch (error) {
    say($("test-result"), STL.describeFailure(error), false);
  }
};

/** Six random digits: shown here and in the companion, so the user can match the two. */
const pairingCode = () => {
  const value = crypto.getRandomValues(new Uint32Array(1))[0] % 1000000;
  return String(value).padStart(6, "0");
};

const pair = async () => {
  // Firefox grants host permissions only on request; the request must come from this click.
  const permitted = STL.api.permissions?.request
    ? STL.api.permissions.request({ origins: ["<all_urls>"] }) : Promise.resolve(true);
  const code = pairingCode();
  $("pairing-code").textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
  $("pairing-code").hidden = false;
  say($("pairing-result"), STL.t("pairingWaiting"));
  $("pair").disabled = true;
  try {
    if (!(await permitted)) throw new STL.Failure("permission_denied");
    const settings = await STL.settings.load();
    await STL.companion.ping(settings);
    await STL.settings.savePairing(await STL.companion.pair(settings, code));
    say($("pairing-result"), STL.t("pairingDone"), true);
  } catch (error) {
    say($("pairing-result"), STL.describeFailure(error), false);
  } finally {
    $("pairing-code").hidden = true;
    $("pair").disabled = false;
    await showStatus();
  }
};

const unpair = async () => {
  try {
    await STL.companion.unpair(await STL.settings.load());
  } catch {
    // not running or already unpaired there: forgetting it here is what matters
  }
  await STL.settings.forgetPairing();
  say($("pairing-result"), STL.t("unpaired"));
  await showStatus();
};

const savePort = async (event) => {
  event.preventDefault();
  const port = Number($("port").value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return;
  await STL.settings.savePort(port);
  await showStatus();
};

localise();
$("test").addEventListener("click", testConnection);
$("pair").addEventListener("click", pair);
$("unpair").addEventListener("click", unpair);
$("port-form").addEventListener("submit", savePort);
showStatus();
