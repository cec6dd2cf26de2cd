/*
 * privalytics tracker: the source of src/privalytics/adapters/http/static/tracker.js.
 * Build: `npm ci && npm run build` in this folder (terser); the built file is committed,
 * and a test keeps it at most 1024 bytes gzipped.
 *
 * <script defer src="https://HOST/tracker.js" data-token="pvt_..."></script>
 *
 * Sends visit (load and SPA navigation), click, scroll (deepest depth, once, on leave),
 * download and share events to HOST/api/v1/events as text/plain JSON with sendBeacon
 * (fetch keepalive as a fallback). No cookie, no storage; nothing at all under Global
 * Privacy Control, nor under Do Not Track unless data-dnt="false". Never throws.
 */
(function (win, doc, nav, hist, loc) {
  // Every entry point runs inside guard(): an error here must never reach the host page.
  var guard = function (fn) {
    return function (a, b) {
      try {
        fn(a, b);
      } catch (e) {}
    };
  };
  var script = doc.currentScript;
  var api = (win.privalytics = function () {});
  // Per page view: its path, the deepest depth reached, whether the depth was sent.
  var page, depth, left;
  var token, endpoint, hashRouting, downloads;
  // Share endpoints: Facebook, X/Twitter, LinkedIn, Reddit, WhatsApp, Telegram, Bluesky,
  // and e-mail with no recipient ("." for "/" and "\." keeps it short; close enough).
  var shares =
    /(facebook|linkedin).com.shar|(twitter|x).com.intent|reddit.com.submit|wa.me.|t.me.share|bsky.app.intent|^mailto:\?/;
  // A URL without query or fragment, which may hold what is not ours to collect.
  var bare = function (url) {
    return url.split(/[?#]/)[0];
  };
  var path = function () {
    var hash = loc.hash;
    return hashRouting && hash[1] == "/" ? hash.slice(1) : loc.pathname;
  };
  var send = function (action, options) {
    // options: path, referrer, target, value, props (and action, for privalytics("event")).
    var body = JSON.stringify(Object.assign({ token: token, action: action, path: path() }, options));
    // sendBeacon is false when the browser's beacon queue is full.
    nav.sendBeacon?.(endpoint, body) ||
      // guard() as the rejection handler: any function that ignores its argument will do.
      fetch(endpoint, { method: "POST", body: body, keepalive: true })["catch"](guard);
  };
  var measure = function () {
    // clientHeight, not innerHeight (which counts a scrollbar): at most 100.
    var root = doc.documentElement;
    var reached = Math.round(((win.scrollY + root.clientHeight) / root.scrollHeight) * 100);
    if (reached > depth) depth = reached;
  };
  var leave = function () {
    if (!left) send("scroll", { path: page, value: depth }), (left = 1);
  };
  // Also the popstate and hashchange handler: its argument is an Event, not a referrer.
  var view = guard(function () {
    if (path() != page) {
      // The page's own referrer belongs to its first view only.
      var referrer = page ? "" : doc.referrer;
      page && leave();
      page = path();
      depth = left = 0;
      measure();
      send("visit", { referrer: referrer });
    }
  });
  var on = function (target, type, handler) {
    target.addEventListener(type, guard(handler), true);
  };
  guard(function () {
    // The script tag's data-* attributes (no currentScript, e.g. in a module: nothing).
    var attr = script.dataset;
    token = attr.token;
    if (
      !token ||
      nav.globalPrivacyControl ||
      (attr.dnt != "false" && nav.doNotTrack == "1")
    )
      return;
    // The API lives beside the script, on the privalytics host (or a proxy's path to it).
    endpoint = script.src.replace(/\/[^/]*$/, "/api/v1/events");
    hashRouting = attr.hash != null;
    downloads = RegExp(
      "\\.(" +
        (attr.downloads || "pdf,zip,gz,dmg,exe,msi,deb,apk,csv,xlsx,docx,mp3,mp4").replace(/,/g, "|") +
        ")$",
      "i"
    );
    win.privalytics = api = guard(send);
    view();
    var pushState = hist.pushState;
    // pushState returns nothing.
    hist.pushState = function () {
      pushState.apply(hist, arguments);
      view();
    };
    on(win, "popstate", view);
    // Without data-hash, path() ignores the hash, so view() sees no new page.
    on(win, "hashchange", view);
    on(win, "scroll", measure);
    // Leaving a page (closing, navigating, switching tab or app) hides it first.
    on(doc, "visibilitychange", function () {
      doc.hidden && leave();
    });
    on(doc, "click", function (event) {
      var element = event.target.closest("a,button");
      var href = element.href;
      var action = "click";
      if (element.closest("[data-pa-ignore]")) return;
      if (href) {
        if (shares.test(href)) action = "share";
        else if (element.hasAttribute("download") || downloads.test(element.pathname))
          action = "download";
        href = bare(href);
      }
      send(action, {
        target:
          element.dataset.paName ||
          href ||
          element.innerText.slice(0, 200)
      });
    });
    var share = nav.share;
    if (share)
      nav.share = function (data) {
        api("share", { target: bare(data?.url || loc.href) });
        return share.apply(nav, arguments);
      };
  })();
})(window, document, navigator, history, location);
