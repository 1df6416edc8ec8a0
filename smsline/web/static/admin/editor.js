// The flow editor: line numbers with problems marked at their line, checked as you type
// (debounced), the diagram redrawn from the draft, and a simulator of the draft.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  var source = document.getElementById("source");
  if (!form || !source) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var gutter = document.getElementById("gutter");
  var list = document.getElementById("problem-list");
  var summary = document.getElementById("problems-summary");
  var diagram = document.getElementById("diagram");
  var errorLines = {};
  var sequence = 0;
  var timer = null;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body),
    });
  }

  function drawGutter() {
    var count = source.value.split("\n").length;
    var fragment = document.createDocumentFragment();
    for (var line = 1; line <= count; line++) {
      var span = document.createElement("span");
      span.textContent = String(line);
      span.dataset.line = String(line);
      if (errorLines[line]) span.className = errorLines[line];
      fragment.appendChild(span);
      fragment.appendChild(document.createTextNode("\n"));
    }
    gutter.replaceChildren(fragment);
    gutter.scrollTop = source.scrollTop;
  }

  function goToLine(line) {
    var lines = source.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    source.focus();
    source.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  function showProblems(problems) {
    errorLines = {};
    list.replaceChildren();
    var errors = 0;
    problems.forEach(function (problem) {
      if (problem.severity === "error") errors++;
      if (problem.line && errorLines[problem.line] !== "error") {
        errorLines[problem.line] = problem.severity;
      }
      var item = document.createElement("li");
      item.className = problem.severity;
      item.dataset.line = problem.line ? String(problem.line) : "";
      if (problem.line) {
        var jump = document.createElement("button");
        jump.type = "button";
        jump.className = "link";
        jump.textContent = "Line " + problem.line;
        jump.addEventListener("click", function () { goToLine(problem.line); });
        item.appendChild(jump);
        item.appendChild(document.createTextNode(": "));
      }
      item.appendChild(document.createTextNode(problem.message));
      list.appendChild(item);
    });
    var warnings = problems.length - errors;
    summary.textContent = problems.length === 0 ? "No problems." :
      errors + " error(s), " + warnings + " warning(s).";
    drawGutter();
  }

  function check() {
    var mine = ++sequence;
    post(form.dataset.checkUrl, { text: source.value })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== sequence) return; // a newer check is on its way
        showProblems(data.problems || []);
        if (diagram && data.svg) {
          diagram.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(data.svg);
        }
      })
      .catch(function () { summary.textContent = "Could not check the draft (connection?)."; });
  }

  source.addEventListener("input", function () {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  source.addEventListener("scroll", function () { gutter.scrollTop = source.scrollTop; });
  drawGutter();
  check();

  // The simulator: the page keeps the position; each turn sends it back with the draft.
  var transcript = document.getElementById("transcript");
  var input = document.getElementById("sim-input");
  var send = document.getElementById("sim-send");
  var timeout = document.getElementById("sim-timeout");
  var language = document.getElementById("sim-language");
  var channel = document.getElementById("sim-channel");
  var keypad = document.getElementById("keypad");
  var position = null;

  function say(kind, text) {
    var item = document.createElement("li");
    item.className = kind;
    item.textContent = text;
    transcript.appendChild(item);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function waiting(on) {
    input.disabled = !on;
    send.disabled = !on;
    timeout.disabled = !on;
  }

  function turn(kind, text) {
    post(form.dataset.simulateUrl, {
      text: source.value, language: language.value, channel: channel.value,
      position: position, kind: kind, input: text || "",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.error) { say("note", data.error); return; }
        data.replies.forEach(function (reply) {
          say(reply.kind === "say" ? "line" : "note", reply.text);
        });
        position = data.position;
        waiting(position !== null);
        if (position !== null) input.focus();
      })
      .catch(function () { say("note", "Could not reach the server."); });
  }

  document.getElementById("sim-start").addEventListener("click", function () {
    transcript.replaceChildren();
    position = null;
    keypad.hidden = channel.value !== "voice";
    turn("start");
  });
  document.getElementById("sim-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!input.value.trim()) return;
    say("you", input.value);
    var text = input.value;
    input.value = "";
    turn("text", text);
  });
  timeout.addEventListener("click", function () { say("note", "(no answer)"); turn("timeout"); });
  keypad.addEventListener("click", function (event) {
    var key = event.target.dataset && event.target.dataset.key;
    if (key && !input.disabled) input.value += key;
  });
})();
