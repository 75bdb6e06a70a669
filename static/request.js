// The customer's page (/r/{id}). The request key is in the fragment (after
// #), which browsers never send to the server on their own; this script sends
// it to the JSON API to load the request and to answer it with a new client
// secret. The secret is checked as it is typed (the server checks again).

import {
  $,
  NETWORK_MESSAGE,
  clearError,
  daysFromToday,
  errorCode,
  fitsHeader,
  formatExpiry,
  formatLocal,
  messageOf,
  parseTime,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
  t,
  tp,
} from "./common.js";
import { GENERATIONS, classify, isGenerated, isGuid } from "./paste.js";

const app = $("app");
const requestId = app ? app.dataset.requestId || "" : "";
const apiUrl = `/api/v1/requests/${encodeURIComponent(requestId)}`;

// Every sentence this page shows is a browser message (`js-req-…` in
// locales/<language>/pages.ftl). The paste check's refusals and cleanings
// are keyed by the codes the server uses for the same thing
// (src/domain/azure.rs, static/paste.js); an answer from the server is
// worded from its stable codes, and only a code this page does not know
// falls back to the server's own (English) sentence.
const known = (id) => t(id) !== id;

// A sentence for `js-<prefix><code>`, or null when there is none.
function byCode(prefix, code) {
  const id = `${prefix}${code}`;
  return typeof code === "string" && code !== "" && known(id) ? t(id) : null;
}

// ---- Checking the secret as it is typed ---------------------------------

const INNER = /[\s\u0085]/;

// Returns { error, warning, notices, empty }: an error blocks sending; a
// warning and notices only inform. Empty input gives nothing to say.
function checkSecret(raw, known) {
  const result = { error: "", warning: "", notices: [], cleaned: [], empty: raw.trim() === "" };
  if (result.empty) {
    return result;
  }
  const { value, cleaned, refused } = classify(raw, known);
  if (refused === "empty") {
    result.empty = true;
    return result;
  }
  if (refused) {
    result.error = byCode("req-refused-", refused) || t("req-refused-control_characters");
    return result;
  }
  result.notices = cleaned.map((code) => byCode("req-clean-", code)).filter(Boolean);
  result.cleaned = cleaned;
  if (INNER.test(value)) {
    result.warning = t("req-doubt-inner");
  } else if (!isGenerated(value)) {
    const length = [...value].length;
    const generation = GENERATIONS.find((g) => value.slice(3, 6) === g.marker);
    // Say how long it is when the length is what is wrong.
    const lengthOff = length < 16 || length > 64 || (generation && length !== generation.length);
    result.warning = lengthOff ? tp("req-doubt-length", length) : t("req-doubt-format");
  }
  return result;
}

// ---- Page state -----------------------------------------------------

const SECTIONS = ["loading", "open", "accepted", "closed"];

function show(name) {
  for (const section of SECTIONS) {
    $(section).hidden = section !== name;
  }
  $("load-error").hidden = true;
}

function showLoadError(message) {
  $("loading").hidden = true;
  const box = $("load-error");
  box.textContent = message;
  box.hidden = false;
}

// Focus moves to the new heading only after a click, not on page load.
function showClosed(heading, message, moveFocus = false) {
  $("secret").value = "";
  $("closed-heading").textContent = heading;
  $("closed-message").textContent = message;
  show("closed");
  if (moveFocus) {
    $("closed-heading").focus();
  }
}

function answeredMessage(answeredAt) {
  const at = parseTime(answeredAt);
  return at ? t("req-answered-at", { time: formatLocal(at) }) : t("req-answered");
}

const showAnswered = (answeredAt, moveFocus = false) =>
  showClosed(t("req-heading-answered"), answeredMessage(answeredAt), moveFocus);
const showLocked = (moveFocus = false) => showClosed(t("req-heading-locked"), t("req-locked"), moveFocus);
const showNotFound = (moveFocus = false) =>
  showClosed(t("req-heading-not-found"), t("req-not-found"), moveFocus);

// ---- Loading the request --------------------------------------------------

const key = readKey();
const info = { vendor: t("req-vendor"), clientId: "", entraTenant: "", verify: "required" };

const form = $("answer-form");
const secret = $("secret");
const check = $("secret-check");
const expiryChoice = $("expiry-choice");
const expiresOn = $("expires-on");
const secretIdInput = $("secret-id");
const button = $("submit-answer");
let buttonLabel = button.textContent;

function setTries(n) {
  const left = Number(n);
  $("tries").textContent = Number.isFinite(left) ? tp("req-tries", left) : "";
}

function fillOpen(data) {
  const tenant = data.tenant && typeof data.tenant === "object" ? data.tenant : {};
  if (typeof data.vendor_name === "string" && data.vendor_name.trim() !== "") {
    info.vendor = data.vendor_name.trim();
  }
  info.clientId = String(tenant.client_id || "");
  info.entraTenant = String(tenant.entra_tenant || "");
  info.verify = typeof data.verify === "string" ? data.verify : "required";

  $("open-heading").textContent = t("req-asks", { vendor: info.vendor });
  $("tenant-name").textContent = String(tenant.name || "");
  $("entra-tenant").textContent = info.entraTenant;
  $("client-id").textContent = info.clientId;
  $("step-tenant").textContent = info.entraTenant;
  $("step-client-id").textContent = info.clientId;
  // The server builds it only for a GUID client ID in a cloud whose portal
  // it knows; only an https link is ever followed.
  const credentialsUrl = typeof tenant.credentials_url === "string" ? tenant.credentials_url : "";
  if (credentialsUrl.startsWith("https://")) {
    $("credentials-url").href = credentialsUrl;
    $("credentials-link").hidden = false;
  } else {
    $("credentials-link").hidden = true;
  }

  $("expires").textContent = formatExpiry(data.expires_at);

  // The vendor's note, under "Note from <vendor>".
  const hasNote = typeof data.note === "string" && data.note.trim() !== "";
  $("note").textContent = hasNote ? data.note : "";
  $("note-box").hidden = !hasNote;

  const verifyHint = $("verify-hint");
  if (info.verify === "off") {
    buttonLabel = t("req-send");
    verifyHint.textContent = t("req-verify-off", { vendor: info.vendor });
  } else if (info.verify === "advisory") {
    verifyHint.textContent = t("req-verify-advisory");
  } else {
    verifyHint.textContent = t("req-verify-required");
  }
  button.textContent = buttonLabel;

  expiresOn.min = daysFromToday(1);
  setTries(data.tries_remaining);
}

// A certificate request: the customer uploads the certificate and presses
// Check; the server signs with a key that never reaches this page.
// Microsoft's refusals of a Check, worded from the stable code; the
// server's own sentence only for a code the page has no words for.
function certificateRefusal(result) {
  const { status, body } = result;
  const code = errorCode(body);
  if (status === 422 && code === "verification_failed") {
    return byCode("req-cert-verify-", body.reason) || messageOf(body);
  }
  if (status === 503) {
    return code === "vendor_misconfigured" ? t("req-cert-misconfigured", { vendor: info.vendor }) : t("req-cert-unreachable");
  }
  if (status === 409) {
    return code === "locked" ? t("req-locked") : t("req-answered");
  }
  if (status === 429) {
    return t("req-too-many");
  }
  return messageOf(body);
}

function downloadLink(id, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  $(id).href = url;
}

function fillCertificate(data) {
  const cert = data.certificate;
  $("open-heading").textContent = t("req-cert-asks", { vendor: info.vendor });
  for (const id of ["secret-heading", "secret-steps", "answer-form"]) {
    $(id).hidden = true;
  }
  $("certificate-part").hidden = false;
  $("cert-step-client-id").textContent = info.clientId;
  $("cert-thumbprint").textContent = String(cert.thumbprint || "");
  $("cert-sha256").textContent = String(cert.sha256 || "");
  $("cert-not-after").textContent = formatLocal(parseTime(cert.not_after));
  const der = Uint8Array.from(atob(String(cert.der_base64 || "")), (c) => c.charCodeAt(0));
  downloadLink("download-cer", der, "application/pkix-cert");
  downloadLink("download-pem", String(cert.pem || ""), "application/x-pem-file");
}

const checkButton = $("check-certificate");
if (checkButton) {
  checkButton.addEventListener("click", async () => {
    if (checkButton.disabled) {
      return;
    }
    const box = $("cert-error");
    box.hidden = true;
    checkButton.disabled = true;
    checkButton.textContent = t("req-checking");
    let result;
    try {
      result = await request(`${apiUrl}/check`, { method: "POST", headers: { "X-Handoff-Key": key } });
    } catch {
      result = { status: 0, body: { message: NETWORK_MESSAGE } };
    }
    checkButton.disabled = false;
    checkButton.textContent = t("req-cert-check");
    if (result.status === 201 && result.body) {
      accepted(result.body);
      return;
    }
    box.textContent = certificateRefusal(result);
    box.hidden = false;
    if (result.body && result.body.tries_remaining !== undefined) {
      setTries(result.body.tries_remaining);
    }
  });
}

async function load() {
  if (key === null) {
    showClosed(t("req-heading-incomplete"), t("req-incomplete"));
    return;
  }
  if (requestId === "" || !fitsHeader(key)) {
    showNotFound();
    return;
  }

  let result;
  try {
    result = await request(apiUrl, { headers: { "X-Handoff-Key": key } });
  } catch {
    showLoadError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  if (status === 200 && body) {
    if (body.state === "answered") {
      showAnswered(body.answered_at);
    } else if (body.state === "locked") {
      showLocked();
    } else {
      fillOpen(body);
      if (body.kind === "certificate" && body.certificate) {
        fillCertificate(body);
      }
      show("open");
    }
  } else if (status === 404) {
    showNotFound();
  } else {
    showLoadError(messageOf(body));
  }
}

// ---- Live checks ----------------------------------------------------------

function line(text, level) {
  const span = document.createElement("span");
  span.className = `check-${level}`;
  span.textContent = text;
  return span;
}

function renderCheck() {
  const result = checkSecret(secret.value, info);
  const lines = [];
  if (result.error) {
    lines.push(line(result.error, "error"));
  }
  if (result.warning) {
    lines.push(line(result.warning, "warning"));
  }
  for (const notice of result.notices) {
    lines.push(line(notice, "notice"));
  }
  check.replaceChildren(...lines);
  if (result.error) {
    secret.setAttribute("aria-invalid", "true");
  } else {
    secret.removeAttribute("aria-invalid");
  }
  return result;
}

secret.addEventListener("input", renderCheck);

expiryChoice.addEventListener("change", () => {
  const custom = expiryChoice.value === "custom";
  $("expires-on-field").hidden = !custom;
  expiresOn.required = custom;
  if (!custom) {
    expiresOn.value = "";
  }
});

function expiryDate() {
  const choice = expiryChoice.value;
  if (choice === "") {
    return "";
  }
  if (choice === "custom") {
    return expiresOn.value;
  }
  const days = Number(choice);
  return Number.isInteger(days) && days > 0 ? daysFromToday(days) : "";
}

// ---- Answering ------------------------------------------------------------

// What the page made of the paste when it was sent: the server cleans and
// doubts exactly the same way (both are tested against one list of pastes),
// so its notices are worded here from the same codes.
let sent = { cleaned: [], warning: "" };

function accepted(body) {
  const verification = body.verification && typeof body.verification === "object" ? body.verification : {};
  const code = typeof verification.code === "string" ? verification.code : "";
  const serverDetail = typeof verification.message === "string" ? verification.message.trim() : "";
  const detail = byCode("req-verify-", code) || serverDetail;
  const vendor = { vendor: info.vendor };
  let result;
  let closing = t("req-close");
  if (body.delivered === true) {
    // Applied to the vendor's configuration right away. (false or null:
    // the vendor finishes it; the customer's part is done either way.)
    result = body.verified === true ? t("req-verified-delivered", vendor) : t("req-delivered", vendor);
    closing = t("req-nothing-more");
  } else if (body.verified === true) {
    result = t("req-verified");
  } else if (info.verify === "off") {
    result = t("req-received-unchecked", vendor);
  } else if (detail !== "") {
    result = t("req-received-later-why", { ...vendor, why: detail.replace(/\.$/, "") });
  } else {
    result = t("req-received-later", vendor);
  }
  $("accepted-result").textContent = result;
  $("accepted-close").textContent = closing;

  const serverNotices = Array.isArray(body.notices) ? body.notices : [];
  const serverWarnings = body.verified === true || !Array.isArray(body.warnings) ? [] : body.warnings;
  const notices = sent.cleaned.map((c) => byCode("req-cleaned-", c)).filter(Boolean);
  const warnings = sent.warning !== "" ? [sent.warning] : [];
  const texts = [
    // The server's own sentences only where the page had none of its own.
    ...(notices.length > 0 || serverNotices.length === 0 ? notices : serverNotices),
    ...(body.verified === true ? [] : warnings.length > 0 || serverWarnings.length === 0 ? warnings : serverWarnings),
  ];
  const messages = [];
  for (const text of texts) {
    if (typeof text === "string" && text !== "") {
      const li = document.createElement("li");
      li.textContent = text;
      messages.push(li);
    }
  }
  if (typeof body.hint === "string" && body.hint.startsWith("certificate ")) {
    const li = document.createElement("li");
    li.textContent = t("req-cert-accepted", { thumbprint: body.hint.slice(12) });
    messages.push(li);
  } else if (typeof body.hint === "string" && body.hint !== "") {
    const li = document.createElement("li");
    li.textContent = t("req-hint", { hint: body.hint });
    messages.push(li);
  }
  const list = $("accepted-notices");
  list.replaceChildren(...messages);
  list.hidden = messages.length === 0;

  // The secret leaves the page as the form goes.
  secret.value = "";
  check.replaceChildren();
  clearError();
  show("accepted");
  $("accepted-heading").focus();
}

// The server's window is at most ten minutes; this only bounds the loop.
const MAX_ACTIVATION_CHECKS = 120;

const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

function activating(on) {
  const box = $("activating");
  box.textContent = on ? t("req-activating") : "";
  box.hidden = !on;
  if (on) {
    button.textContent = t("req-activating-button");
  }
}

function failed(message) {
  showError(message);
  button.disabled = false;
  button.textContent = buttonLabel;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled) {
    return;
  }
  clearError();

  const result = renderCheck();
  if (result.empty) {
    showError(t("req-refused-empty"));
    secret.focus();
    return;
  }
  if (result.error) {
    showError(result.error);
    secret.focus();
    return;
  }
  const expires = expiryDate();
  if (expiryChoice.value === "custom" && expires === "") {
    showError(t("req-pick-date"));
    expiresOn.focus();
    return;
  }
  const secretIdValue = secretIdInput.value.trim();
  if (secretIdValue !== "" && !isGuid(secretIdValue)) {
    showError(t("req-secret-id-not-guid"));
    secretIdInput.focus();
    return;
  }

  sent = { cleaned: result.cleaned, warning: result.warning };
  const payload = { key, secret: secret.value };
  if (expires !== "") {
    payload.expires_on = expires;
  }
  if (secretIdValue !== "") {
    payload.secret_id = secretIdValue;
  }

  button.disabled = true;
  button.textContent = info.verify === "off" ? t("req-sending") : t("req-checking");

  let response;
  // A brand-new secret may not work for a minute or two: the server answers
  // 202 until Microsoft takes it (or its window has passed), and the same
  // value, held only in this function, is sent again.
  for (let checks = 0; ; checks += 1) {
    try {
      response = await request(`${apiUrl}/answer`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
    } catch {
      activating(false);
      failed(NETWORK_MESSAGE);
      return;
    }
    if (response.status !== 202 || checks >= MAX_ACTIVATION_CHECKS) {
      break;
    }
    activating(true);
    const wait = Number(response.body && response.body.retry_after_secs);
    await sleep(Number.isFinite(wait) && wait > 0 ? Math.min(wait, 30) * 1000 : 5000);
  }
  activating(false);

  const { status, body } = response;
  const code = errorCode(body);

  if (status === 201 && body) {
    accepted(body);
    return;
  }
  if (status === 422 && (code === "secret_refused" || code === "verification_failed")) {
    const left = Number(body.tries_remaining);
    if (Number.isFinite(left) && left <= 0) {
      showLocked(true);
      return;
    }
    setTries(left);
    const reason = typeof body.reason === "string" ? body.reason : "";
    const worded =
      code === "secret_refused" ? byCode("req-refused-", reason) : byCode("req-verify-", reason);
    failed(worded || messageOf(body));
    secret.focus();
    return;
  }
  if (status === 422 && code === "invalid_field") {
    failed(byCode("req-invalid-", body.field) || messageOf(body));
    const field = { secret: secret, expires_on: expiryChoice, secret_id: secretIdInput }[body.field];
    if (field) {
      field.focus();
    }
    return;
  }
  if (status === 503) {
    failed(code === "vendor_misconfigured" ? t("req-misconfigured", { vendor: info.vendor }) : t("req-unreachable"));
    return;
  }
  if (status === 409) {
    if (code === "locked") {
      showLocked(true);
    } else {
      showAnswered(null, true);
    }
    return;
  }
  if (status === 404) {
    showNotFound(true);
    return;
  }
  if (status === 429) {
    failed(t("req-too-many"));
    return;
  }
  failed(messageOf(body));
});

reloadWhenLinkChanges();

load();
