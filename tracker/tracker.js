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
 * Each event carries screen.width, which the server reads for the device class and
 * does not store (docs/tracker.md says why the screen's width, not the window's).
 */
(function (win, doc, nav, hist, loc) {
  // Every entry point runs inside guard(): an error here must never reach the host page.
  var guard = function (fn) {
    return function (a, b) {
      try {
        fn(a, b);
      } catch {}
    };
  };
  // Included twice (a theme and a plugin, say): the first copy does the tracking.
  if (win.privalytics) return;
  var script = doc.currentScript;
  // Per page view: its path, the deepest depth reached, whether the depth was sent.
  var page, depth, left;
  var token, endpoint, hashRouting, downloads;
  // Share endpoints: Facebook, X/Twitter, LinkedIn, Reddit, WhatsApp, Telegram, Bluesky
  // (the host right after "//", or a subdomain of it: ottawa.media is not wa.me). "." for
  // "\." and "/" keeps it short; close enough. (A mailto: link is a click: its 9 bytes
  // gzipped went to the fixes that had to fit in 1 KB.) The alternatives' order, like the
  // default downloads' and the body's keys, is the one that gzips smallest; any order
  // means the same.
  var shares =
    /\/\/([^/]*\.)?(wa.me.|reddit.com.submit|(t.me|(facebook|linkedin).com).shar|(bsky.app|(twitter|x).com).intent)/;
  // A URL (resolved against the page's location) without query or fragment, which may hold what
  // is not ours to collect; JSON.stringify writes it as its href.
  var bare = function (url) {
    url = new URL(url, loc);
    url.search = url.hash = "";
    return url;
  };
  var path = function () {
    return hashRouting && loc.hash[1] == "/" ? loc.hash.slice(1) : loc.pathname;
  };
  // privalytics(name, options): does nothing unless the visitor may be tracked (no endpoint
  // then). Never throws: leave() sends before an SPA view's visit, which must go out
  // regardless. Every event goes as a name: the server reads a built-in action's name
  // ("visit", "click") as that action, and any other ("Signup") as a custom event.
  var send = (win.privalytics = guard(function (name, options) {
    if (!endpoint) return;
    // options: path, referrer, target, value, props.
    // An event belongs to the page view: its path is the view's (for scroll, the page left).
    // screen.width: the device class (read, never stored); see docs/tracker.md.
    // wd: navigator.webdriver, true in a browser driven by automation: the server's bot
    // filter turns its events away into the bot log (undefined, and left out, in old
    // browsers).
    var body = JSON.stringify({ token: token, name: name, path: page, screen_width: screen.width, wd: nav.webdriver, ...options });
    var sent;
    // sendBeacon is false when the browser's beacon queue is full, missing in old
    // browsers, and may throw (a page or an extension replaced it): then fetch, and the
    // error, if any, goes on to guard().
    try {
      sent = nav.sendBeacon(endpoint, body);
    } finally {
      sent ||
        // guard() as the rejection handler: any function that ignores its argument will do.
        fetch(endpoint, { method: "POST", body: body, keepalive: true })["catch"](guard);
    }
  }));
  var measure = function () {
    // clientHeight, not innerHeight (which counts a scrollbar). A fractional or an
    // overscrolled scrollY can give over 100: the server clamps every depth into 0-100
    // (validation.scroll_depth), so the bytes for it went to the screen width. A
    // scrollHeight of 0 gives 0; depth starts at 0, so it never goes below.
    var root = doc.documentElement;
    // (x + 0.5) | 0 rounds a positive x (and makes NaN and Infinity 0).
    var reached = (((win.scrollY + root.clientHeight) / root.scrollHeight) * 100 + 0.5) | 0;
    if (reached > depth) depth = reached;
  };
  var leave = function () {
    if (!left) send("scroll", { value: depth }), (left = 1);
  };
  // Also the popstate and hashchange handler: its argument is an Event, not a referrer.
  var view = guard(function () {
    var now = path();
    if (now != page) {
      // The page's own referrer belongs to its first view only.
      var referrer = page ? "" : doc.referrer;
      // send() never throws: the page left's scroll cannot keep the new view's visit in.
      page && leave();
      page = now;
      depth = left = 0;
      measure();
      send("visit", { referrer: referrer });
    }
  });
  // On the window, capturing: the document's events (click, visibilitychange) pass it first.
  var on = function (type, handler) {
    win.addEventListener(type, guard(handler), true);
  };
  guard(function () {
    // The script tag's data-* attributes (no currentScript, e.g. in a module: nothing).
    var attr = script.dataset;
    token = attr.token;
    if (
      !token ||
      nav.globalPrivacyControl ||
      (attr.dnt != "false" && nav.doNotTrack == 1)
    )
      return;
    // The API lives beside the script, on the privalytics host (or a proxy's path to it).
    endpoint = new URL("api/v1/events", script.src);
    hashRouting = "hash" in attr;
    // Any run of non-word characters (commas, spaces, a "." or "(") separates two
    // extensions: no text of the site's reaches the RegExp unescaped.
    downloads = RegExp(
      "\\.(" +
        (attr.downloads || "deb,dmg,exe,pdf,apk,xlsx,mp3,zip,gz,csv,mp4,docx,msi").replace(/\W+/g, "|") +
        ")$",
      "i"
    );
    view();
    var pushState = hist.pushState;
    // pushState returns nothing: view() gets no argument (and runs only if it did not throw).
    hist.pushState = (...args) => view(pushState.apply(hist, args));
    on("scroll", measure);
    // Back, forward and a new #fragment (popstate fires for it too, before hashchange).
    // Without data-hash, path() ignores the hash, so view() sees no new page.
    on("popstate", view);
    // Leaving a page (closing, navigating, switching tab or app) hides it first.
    on("visibilitychange", () => doc.hidden && leave());
    // A click, or a middle click (auxclick, button 1: a link opened in a new tab).
    var click = function (event) {
      // composedPath: the element clicked inside an open shadow root, not its host.
      var element = event.composedPath()[0].closest("a,button");
      // getAttribute: an SVG <a>'s href is an SVGAnimatedString, not a URL.
      var href = element.getAttribute("href");
      var action = "click";
      if (event.button > 1 || element.closest("[data-pa-ignore]")) return;
      if (href) {
        href = bare(href);
        if (shares.test(href)) action = "share";
        else if (element.hasAttribute("download") || downloads.test(href.pathname))
          action = "download";
      }
      send(action, {
        target: element.dataset.paName || href || element.innerText.slice(0, 200)
      });
    };
    on("click", click);
    on("auxclick", click);
    var share = nav.share;
    if (share)
      nav.share = (...args) => {
        send("share", { target: bare(args[0]?.url || loc) });
        return share.apply(nav, args);
      };
  })();
})(window, document, navigator, history, location);
