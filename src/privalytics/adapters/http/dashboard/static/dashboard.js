// privalytics dashboard: progressive enhancements only. Served from the app itself;
// the Content-Security-Policy allows no inline script and no other origin.
// Attacker-controlled strings (paths, referrers, targets) only ever go in textContent.
"use strict";

(function () {
  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.textContent.trim();
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
        } else {
          selectText(source);
          try { document.execCommand("copy"); done(); } catch (e) { /* selected for the user */ }
        }
      });
    });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function projectSelector() {
    var form = document.querySelector("[data-project-selector]");
    if (!form) return;
    form.querySelector("select").addEventListener("change", function () { form.submit(); });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function feedItem(event) {
    var li = document.createElement("li");
    li.className = "fresh";
    var when = new Date(event.timestamp);
    var time = document.createElement("time");
    time.setAttribute("datetime", event.timestamp);
    time.textContent = pad(when.getUTCHours()) + ":" + pad(when.getUTCMinutes()) + ":" + pad(when.getUTCSeconds());
    li.appendChild(time);
    var tag = document.createElement("span");
    tag.className = "tag " + String(event.action).replace(/[^a-z]/g, "");
    tag.textContent = event.action;
    if (event.action === "scroll" && typeof event.value === "number") {
      tag.textContent += " " + Math.round(event.value) + "%";
    }
    li.appendChild(tag);
    var path = document.createElement("span");
    path.className = "path";
    path.textContent = event.path;
    li.appendChild(path);
    if (event.target) {
      var target = document.createElement("span");
      target.className = "target";
      target.textContent = "\u2192 " + event.target;
      li.appendChild(target);
    }
    if (event.referrer) {
      var ref = document.createElement("span");
      ref.className = "ref";
      ref.textContent = "from " + event.referrer;
      li.appendChild(ref);
    }
    return li;
  }

  function liveFeed() {
    var list = document.querySelector("[data-live]");
    if (!list || !window.WebSocket) return;
    var status = document.querySelector("[data-live-status]");
    var delay = 1000;
    function setStatus(text, state) {
      if (!status) return;
      status.textContent = text;
      status.setAttribute("data-state", state);
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + list.getAttribute("data-live"));
      socket.addEventListener("open", function () { delay = 1000; setStatus("live", "open"); });
      socket.addEventListener("message", function (message) {
        var events;
        try { events = JSON.parse(message.data); } catch (e) { return; }
        var empty = list.querySelector("[data-empty]");
        if (empty) empty.remove();
        events.forEach(function (event) { list.insertBefore(feedItem(event), list.firstChild); });
        var size = parseInt(list.getAttribute("data-size"), 10) || 15;
        while (list.children.length > size) list.removeChild(list.lastChild);
      });
      socket.addEventListener("close", function (event) {
        if (event.code === 1008) {
          // The session is gone (signed out, new password, user deleted): sign in again.
          setStatus("signed out", "closed");
          location.assign("/dashboard/login?next=" + encodeURIComponent(location.pathname + location.search));
          return;
        }
        setStatus("reconnecting", "closed");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    connect();
  }

  onReady(function () {
    copyButtons();
    projectSelector();
    liveFeed();
  });
})();
