// sanbao console: progressive enhancement only; every page works without it.
(function () {
  'use strict';

  // The scan field stays ready for the next scan: a USB scanner types into
  // whatever has the focus, so when nothing else holds it (a click on empty
  // space, a closed dialog), it goes back to the scan field. Esc also
  // returns to it from anywhere.
  var scan = document.getElementById('scan');
  if (scan) {
    var idle = function () {
      var a = document.activeElement;
      return !a || a === document.body || a === document.documentElement;
    };
    document.addEventListener('focusout', function () {
      window.setTimeout(function () { if (idle()) { scan.focus(); } }, 0);
    });
    document.addEventListener('click', function () {
      window.setTimeout(function () {
        if (idle() && !String(window.getSelection() || '')) { scan.focus(); }
      }, 0);
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { scan.focus(); scan.select(); }
    });
    // Every page that has it (an item, an answer, a serial not found)
    // leaves the scan field focused with its text selected, so the next
    // scan replaces the last one instead of being glued to it; only a
    // refused form keeps the focus on its field. preventScroll keeps an
    // answer further down the page (at its #anchor) in view.
    var ready = function () {
      var other = document.querySelector('[autofocus]:not(#scan)');
      if (other && other !== scan) { return; }
      scan.focus({preventScroll: true});
      scan.select();
    };
    ready();
    window.addEventListener('pageshow', ready);
  }

  // Ctrl+Enter sends the form of a text area (Enter there is a new line,
  // as a scanner types it).
  document.addEventListener('keydown', function (e) {
    var el = e.target;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && el.tagName === 'TEXTAREA' && el.form) {
      e.preventDefault();
      if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });

  // Forms: ask before steps that cannot be undone, and send each form once
  // (the server also records a form sent twice only once).
  document.addEventListener('submit', function (e) {
    var f = e.target;
    var ask = f.getAttribute('data-confirm');
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    if (f.method.toLowerCase() !== 'post') { return; }
    if (f.getAttribute('data-sent')) { e.preventDefault(); return; }
    f.setAttribute('data-sent', '1');
    var b = f.querySelectorAll('button[type=submit]');
    for (var i = 0; i < b.length; i++) { b[i].disabled = true; }
  });

  // Coming back with the back button shows the page as it was left:
  // make its forms usable again.
  window.addEventListener('pageshow', function (e) {
    if (!e.persisted) { return; }
    var sent = document.querySelectorAll('form[data-sent]');
    for (var i = 0; i < sent.length; i++) {
      sent[i].removeAttribute('data-sent');
      var b = sent[i].querySelectorAll('button[type=submit]');
      for (var j = 0; j < b.length; j++) { b[j].disabled = false; }
    }
  });
})();
