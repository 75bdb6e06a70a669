// The staff retrieve page (/staff/requests/{id}). Only signed-in staff get
// it; the session cookie goes with every request on its own. The retrieve key
// is in the fragment (after #), which browsers never send to the server on
// their own; this script sends it only to retrieve the answer, once, and then
// drops it from the address bar.

import {
  $,
  NETWORK_MESSAGE,
  appliedMessage,
  clearError,
  errorCode,
  forgetKeyInAddressBar,
  formatDay,
  formatUtc,
  idempotentAttempt,
  messageOf,
  parseTime,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
} from "./common.js";

const app = $("app");
const requestId = app ? app.dataset.requestId || "" : "";
const apiUrl = `/api/v1/requests/${encodeURIComponent(requestId)}`;

const MSG = {
  notFound: "This request does not exist, or it expired and its record is deleted.",
  wrongLink: "Wrong or incomplete retrieve link.",
  missingKey:
    "The retrieve key (the part after #) is missing from this address: open the retrieve link shown when the request was created.",
  notAnswered: "The customer has not answered yet.",
  unconfirmed:
    "The server could not confirm the retrieval. Click Retrieve again: within a minute you get the same answer.",
};

const STATES = {
  open: "Waiting for the customer",
  answered: "Answered — ready to retrieve",
  locked: "Locked after too many attempts",
  retrieved: "Retrieved — deleted from the server",
  applied: "Applied — delivered to the tenant's configuration",
};

const DETAILS = {
  open: "The customer has not answered yet. Refresh this page later.",
  answered: "",
  locked: "The customer used up all attempts without a secret Microsoft accepts. Create a new request if one is still needed.",
  retrieved: "The secret was already retrieved and is no longer stored.",
  applied: "Delivered to the tenant's configuration; nothing to retrieve.",
};

// ---- Describing the answer -----------------------------------------

// "Microsoft accepted the secret (AADSTS…)" from {code, message, aadsts}.
function describeVerification(verification) {
  if (!verification || typeof verification !== "object") {
    return "";
  }
  const message = typeof verification.message === "string" ? verification.message : "";
  const code = verification.aadsts;
  const aadsts = code !== null && code !== undefined && code !== "" ? `AADSTS${code}` : "";
  const text = message || String(verification.code || "");
  return aadsts && !text.includes(aadsts) ? `${text} (${aadsts})` : text;
}

const isText = (value) => typeof value === "string" && value !== "";

// ---- Page state -----------------------------------------------------

// The signed-out notice is a second error box.
function clearErrors() {
  clearError();
  $("signed-out").hidden = true;
}

function showSignedOut() {
  $("loading").hidden = true;
  $("sign-in-link").href = `/staff/sign-in?next=${encodeURIComponent(location.pathname)}`;
  $("signed-out").hidden = false;
}

function showGone(message) {
  clearErrors();
  $("loading").hidden = true;
  $("details").hidden = true;
  $("gone-message").textContent = message;
  $("gone").hidden = false;
}

// Sets an optional fact, hiding its row when there is nothing to say.
function fact(id, text) {
  $(id).textContent = text || "";
  $(`${id}-row`).hidden = !text;
}

// ---- The key ----------------------------------------------------------

let key = readKey();

// ---- Rendering --------------------------------------------------------

let state = "";
let tenantName = "";

function render(data) {
  state = typeof data.state === "string" ? data.state : "";
  $("state").textContent = STATES[state] || state || "Unknown";

  const tenant = data.tenant && typeof data.tenant === "object" ? data.tenant : {};
  tenantName = String(tenant.name || tenant.slug || "");
  $("tenant-name").textContent = isText(tenant.slug) ? `${tenant.name || ""} (${tenant.slug})` : String(tenant.name || "");
  $("entra-tenant").textContent = String(tenant.entra_tenant || "");
  $("client-id").textContent = String(tenant.client_id || "");
  $("created").textContent = isText(data.created_by)
    ? `${formatUtc(data.created_at)} by ${data.created_by}`
    : formatUtc(data.created_at);
  $("expires").textContent = formatUtc(data.expires_at);
  $("tries").textContent = String(Number(data.tries) || 0);

  fact("answered", isText(data.answered_at) ? formatUtc(data.answered_at) : "");
  fact("verification", describeVerification(data.verification));
  fact("expires-on", isText(data.expires_on) ? formatDay(data.expires_on) : "");
  fact("secret-id", isText(data.secret_id) ? data.secret_id : "");
  fact("hint", isText(data.hint) ? `${data.hint}…` : "");
  fact("retrieved-at", isText(data.retrieved_at) ? formatUtc(data.retrieved_at) : "");

  let detail = state in DETAILS ? DETAILS[state] : "";
  const canRetrieve = state === "answered" && key !== null;
  if (state === "answered" && key === null) {
    detail = MSG.missingKey;
  }
  $("state-detail").textContent = detail;
  $("state-detail").hidden = detail === "";
  $("retrieve-box").hidden = !canRetrieve;
  $("retrieve-hint").hidden = !canRetrieve;
  $("retrieve").disabled = false;

  // With a sink, applying is the preferred action: nobody sees the secret.
  const sink = isText(tenant.sink) ? tenant.sink : "";
  const canApply = canRetrieve && sink !== "";
  const apply = $("apply-request");
  apply.textContent = tenantName !== "" ? `Apply to ${tenantName}` : "Apply to tenant";
  apply.hidden = !canApply;
  apply.disabled = false;
  $("apply-request-hint").textContent = canApply
    ? `Apply checks it with Microsoft, writes it to the tenant's configuration (sink ${sink}), then deletes it here; nobody sees it. If a step fails, nothing is lost.`
    : "";
  $("apply-request-hint").hidden = !canApply;
  $("retrieve").classList.toggle("primary", !canApply);
  $("retrieve-hint").textContent = canApply
    ? "Retrieve shows it once, then it is deleted from the server."
    : "Shows it once, then it is deleted from the server.";

  $("loading").hidden = true;
  $("gone").hidden = true;
  $("details").hidden = false;
}

// ---- Loading ------------------------------------------------------------

async function load() {
  if (requestId === "") {
    showGone(MSG.notFound);
    return;
  }

  let result;
  try {
    result = await request(`${apiUrl}/details`);
  } catch {
    $("loading").hidden = true;
    showError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  if (status === 200 && body) {
    clearErrors();
    render(body);
  } else if (status === 401) {
    showSignedOut();
  } else if (status === 404) {
    showGone(MSG.notFound);
  } else {
    $("loading").hidden = true;
    showError(messageOf(body));
  }
}

// ---- Actions ------------------------------------------------------------

const refresh = $("refresh");
refresh.addEventListener("click", async () => {
  refresh.disabled = true;
  try {
    await load();
  } finally {
    refresh.disabled = false;
  }
});

function retrieved(body) {
  const output = $("retrieved-secret");
  output.value = body.secret;
  const lines = body.secret.split("\n").length;
  output.rows = Math.min(Math.max(lines, 2), 16);

  // What came with the secret may be fresher than what the page loaded.
  if (isText(body.expires_on)) {
    fact("expires-on", formatDay(body.expires_on));
  }
  if (isText(body.secret_id)) {
    fact("secret-id", body.secret_id);
  }
  if (isText(body.hint)) {
    fact("hint", `${body.hint}…`);
  }
  const verification = describeVerification(body.verification);
  if (verification !== "") {
    fact("verification", verification);
  }

  state = "retrieved";
  $("state").textContent = STATES.retrieved;
  $("state-detail").hidden = true;
  $("retrieve-box").hidden = true;
  $("retrieve-hint").hidden = true;
  $("apply-request-hint").hidden = true;
  $("refresh").closest(".actions").hidden = true;
  clearErrors();
  $("retrieved").hidden = false;
  $("retrieved-heading").focus();

  forgetKeyInAddressBar();
  key = null;
}

const retrieve = $("retrieve");
const applyButton = $("apply-request");

function hideActions() {
  $("retrieve-box").hidden = true;
  $("retrieve-hint").hidden = true;
  $("apply-request-hint").hidden = true;
}

// Clicking Retrieve again after a lost answer repeats the same retrieval.
const retrieveAttempt = idempotentAttempt();

function alreadyRetrieved(body) {
  const at = parseTime(body.ended_at);
  showError(at ? `Already retrieved at ${formatUtc(body.ended_at)}.` : "Already retrieved.");
  hideActions();
}
retrieve.addEventListener("click", async () => {
  if (retrieve.disabled) {
    return;
  }
  if (key === null) {
    showError(MSG.missingKey);
    return;
  }
  clearErrors();
  retrieve.disabled = true;
  applyButton.disabled = true;

  let result;
  try {
    result = await request(`${apiUrl}/retrieve`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": retrieveAttempt.key() },
      body: JSON.stringify({ key }),
    });
  } catch {
    retrieveAttempt.settle(null);
    retrieve.disabled = false;
    applyButton.disabled = false;
    showError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  const code = errorCode(body);
  retrieveAttempt.settle(status);

  if (status === 200 && body && typeof body.secret === "string") {
    retrieved(body);
    return;
  }
  retrieve.disabled = false;
  applyButton.disabled = false;
  if (status === 401) {
    showSignedOut();
  } else if (status === 404 && code === "already_retrieved") {
    alreadyRetrieved(body);
  } else if (status === 404) {
    showError(MSG.wrongLink);
  } else if (status === 409 && code === "not_answered") {
    showError(MSG.notAnswered);
  } else if (code === "outcome_unknown") {
    showError(MSG.unconfirmed);
  } else {
    showError(messageOf(body));
  }
});

// ---- Applying to the tenant's configuration -------------------------------

function applied(body) {
  clearErrors();
  hideActions();
  $("apply-result").textContent = appliedMessage(body, tenantName || String(body.tenant || "the tenant"));
  $("applied").hidden = false;
  $("applied-heading").focus();

  forgetKeyInAddressBar();
  key = null;

  // The details now say "applied".
  load();
}

const applyLabel = () => (tenantName !== "" ? `Apply to ${tenantName}` : "Apply to tenant");

applyButton.addEventListener("click", async () => {
  if (applyButton.disabled) {
    return;
  }
  if (key === null) {
    showError(MSG.missingKey);
    return;
  }
  clearErrors();
  applyButton.disabled = true;
  applyButton.textContent = "Applying…";
  retrieve.disabled = true;

  let result;
  try {
    result = await request(`${apiUrl}/apply`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key }),
    });
  } catch {
    result = null;
  }

  applyButton.textContent = applyLabel();
  if (result === null) {
    applyButton.disabled = false;
    retrieve.disabled = false;
    showError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  const code = errorCode(body);

  if (status === 200 && body && body.status === "applied") {
    applied(body);
    return;
  }
  applyButton.disabled = false;
  retrieve.disabled = false;
  if (status === 401) {
    showSignedOut();
  } else if (code === "apply_failed") {
    // The message already says that nothing was lost.
    const step = isText(body.step) ? body.step : "unknown";
    showError(`Apply failed at step ${step}: ${messageOf(body)}`);
  } else if (status === 404 && code === "already_retrieved") {
    alreadyRetrieved(body);
  } else if (status === 404) {
    showError(MSG.wrongLink);
  } else if (status === 409 && code === "not_answered") {
    showError(MSG.notAnswered);
  } else if (status === 409 && code === "already_applied") {
    showError(messageOf(body));
    hideActions();
  } else {
    // being_applied, a tenant without a sink, rate limits: they say it themselves.
    showError(messageOf(body));
  }
});

reloadWhenLinkChanges();

load();
