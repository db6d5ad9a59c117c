// Passkeys (WebAuthn) for the console: a button with data-passkey="create" or "get" asks the
// server for options (data-options, a POST with the form's CSRF token), lets the browser's
// authenticator answer, puts the answer (JSON) into the hidden "credential" field of the form
// named by data-form, and submits that form. The server decides everything else.
(function () {
  "use strict";

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(options) {
    options.challenge = toBuffer(options.challenge);
    options.user.id = toBuffer(options.user.id);
    (options.excludeCredentials || []).forEach(function (item) { item.id = toBuffer(item.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBuffer(options.challenge);
    (options.allowCredentials || []).forEach(function (item) { item.id = toBuffer(item.id); });
    return options;
  }

  function credentialJson(credential) {
    var answer = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(answer.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) { json.authenticatorAttachment = credential.authenticatorAttachment; }
    if (answer.attestationObject) {
      json.response.attestationObject = toText(answer.attestationObject);
      if (answer.getTransports) { json.response.transports = answer.getTransports(); }
    } else {
      json.response.authenticatorData = toText(answer.authenticatorData);
      json.response.signature = toText(answer.signature);
      if (answer.userHandle) { json.response.userHandle = toText(answer.userHandle); }
    }
    return JSON.stringify(json);
  }

  function showProblem(message) {
    var box = document.getElementById("passkey-error");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  function run(button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    var token = form.querySelector("input[name=csrf_token]").value;
    return fetch(button.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (answer) {
      return answer.json().then(function (body) {
        if (!answer.ok) { throw new Error(body.error || "The console refused."); }
        return body;
      });
    }).then(function (options) {
      if (button.getAttribute("data-passkey") === "create") {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      form.querySelector("input[name=credential]").value = credentialJson(credential);
      form.submit();
    });
  }

  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    if (!window.PublicKeyCredential) {
      button.disabled = true;
      button.title = "This browser cannot use passkeys here.";
      return;
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      run(button).catch(function (problem) {
        button.disabled = false;
        showProblem(problem && problem.message ? problem.message : "The passkey did not answer.");
      });
    });
  });
})();
