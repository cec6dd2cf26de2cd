/*
 * privalytics tagged events: the source of src/privalytics/adapters/http/static/tracker-tags.js,
 * an opt-in add-on to tracker.js (which has no byte left in its 1 KB for it). Build: `npm ci
 * && npm run build` in this folder (terser); the built file is committed, and a test keeps it
 * at most 512 bytes gzipped.
 *
 * <script defer src="https://HOST/tracker.js" data-token="pvt_..."></script>
 * <script defer src="https://HOST/tracker-tags.js"></script>
 *
 * A click (or a middle click) on a tagged element, or the submission of a tagged form, sends
 * a custom event through window.privalytics, which tracker.js defines (and which does
 * nothing when the visitor may not be tracked). Two ways to tag, the same meaning:
 *
 *   <a href="/pricing" data-pa-event="Signup" data-pa-event-plan="pro">
 *   <a href="/pricing" class="pa-event-name=Signup pa-event-plan=pro">
 *
 * In a class, "+" stands for a space ("pa-event-name=Sign+up"), and "--" may stand for "="
 * where a site builder refuses "=" in a class name, as in Plausible's tagged events.
 * The core's own click event for the element is still sent (docs/tracker.md says why).
 * Never throws into the page.
 */
(function (win) {
  // Tagged by the attribute, or by a class holding "pa-event-name=" (or "--"). A
  // class that only contains it ("xpa-event-name=") matches too; read() finds no name in it.
  var tagged = "[data-pa-event],[class*=pa-event-name]";
  // The event of a tagged element: its name and its properties, or nothing without a name.
  var read = function (element) {
    var name = element.getAttribute("data-pa-event");
    var props = {};
    var attributes = element.attributes;
    var i = 0;
    var found;
    for (; i < attributes.length; i++) {
      // data-pa-event-plan="pro": the property plan (HTML lowercases attribute names).
      found = /^data-pa-event-(.+)/.exec(attributes[i].name);
      if (found) props[found[1]] = attributes[i].value;
    }
    for (i = 0; i < element.classList.length; i++) {
      // pa-event-name=Signup, pa-event-plan=pro+plan (or with "--" for "="): the key up to
      // the first separator, the value after it, "+" a space.
      found = /^pa-event-(.+?)(=|--)(.+)/.exec(element.classList[i]);
      if (found) {
        found[3] = found[3].replace(/\+/g, " ");
        if (found[1] == "name") name = found[3];
        else props[found[1]] = found[3];
      }
    }
    // Looked up now, not when this script ran: the order of the two scripts does not matter,
    // and without tracker.js (or with a page that replaced it by something else) nothing is
    // sent. privalytics() itself never throws.
    name && win.privalytics && win.privalytics(name, { props: props });
  };
  var on = function (type, handler) {
    // On the window, capturing: before the page's own handlers can stop the event.
    win.addEventListener(
      type,
      function (event) {
        try {
          // Two copies of this script on a page: the first one to see the event sends it.
          if (!event.pa) {
            event.pa = 1;
            handler(event, event.composedPath()[0]);
          }
        } catch {}
      },
      true
    );
  };
  // A click, or a middle click (a link opened in a new tab); not the right button's menu.
  // composedPath: the element clicked inside an open shadow root, not its host. A click
  // inside a tagged form (its submit button, a field) is not the form's event: its submission is.
  var click = function (event, element) {
    element = element.closest(tagged);
    if (event.button < 2 && element.tagName != "FORM") read(element);
  };
  on("click", click);
  on("auxclick", click);
  // A form sent (submit fires only once the browser's own validation passed). The beacon
  // survives the page being left, so the submission need not be held back as Plausible does.
  on("submit", function (event, form) {
    if (form.matches(tagged)) read(form);
  });
})(window);
