//! What every console page must be, checked in the browser on each page a test visits: one `h1`,
//! every field labelled, no script and no inline style (the CSP allows neither), the console's
//! own stylesheet loaded, nothing taken out of the keyboard's order, and no sideways scrolling
//! at a phone's width. `inspect` also writes the page's screenshots for `docs/console/`.

use serde_json::Value;

use super::browser::{Browser, DESKTOP, PHONE};

/// Fields (not hidden, not buttons) with neither `label[for=id]` nor a wrapping label.
const UNLABELLED: &str = "
    const fields = document.querySelectorAll(
        'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea');
    return [...fields]
        .filter(f => !(f.id && document.querySelector(`label[for=\"${CSS.escape(f.id)}\"]`)) && !f.closest('label'))
        .map(f => f.outerHTML);";

/// Elements the keyboard cannot reach in order (a negative or positive tabindex).
const OUT_OF_ORDER: &str = "
    return [...document.querySelectorAll('[tabindex]')]
        .filter(e => e.getAttribute('tabindex') !== '0')
        .map(e => e.outerHTML);";

/// The stylesheets the page loaded and how many rules each holds.
const STYLESHEETS: &str = "
    return [...document.styleSheets].map(s => [s.href || '', s.cssRules.length]);";

/// Checks the page's rules at both sizes and writes `docs/console/<name>-1280x800.png` and
/// `<name>-390x844.png`.
pub async fn inspect(browser: &Browser, name: &str) {
    check_page(browser).await;
    browser.screenshot(name, DESKTOP.0, DESKTOP.1).await;
    browser.screenshot(name, PHONE.0, PHONE.1).await;
}

/// Checks the current page against the rules every console page keeps.
pub async fn check_page(browser: &Browser) {
    let page = browser.path().await;
    let h1 = browser.count("h1").await;
    assert_eq!(h1, 1, "{page}: {h1} h1 elements, one expected");
    let unlabelled = browser.script(UNLABELLED).await;
    assert_eq!(unlabelled, Value::Array(vec![]), "{page}: fields without a label");
    let out_of_order = browser.script(OUT_OF_ORDER).await;
    assert_eq!(out_of_order, Value::Array(vec![]), "{page}: tabindex other than 0");
    assert_eq!(browser.count("script").await, 0, "{page}: the console has no JavaScript");
    assert_eq!(browser.count("[style]").await, 0, "{page}: inline styles (the CSP refuses them)");
    let sheets = browser.script(STYLESHEETS).await;
    let sheets = sheets.as_array().expect("stylesheets");
    assert!(
        sheets.iter().any(|s| s[0].as_str().is_some_and(|href| href.contains("/console/assets/console-"))
            && s[1].as_u64().is_some_and(|rules| rules > 0)),
        "{page}: the console's stylesheet is not loaded: {sheets:?}"
    );
    fits_a_phone(browser, &page).await;
}

/// At 390 px wide nothing sticks out sideways (the document is no wider than the viewport).
async fn fits_a_phone(browser: &Browser, page: &str) {
    browser.resize(PHONE.0, PHONE.1).await;
    let width = browser.script("return document.documentElement.scrollWidth").await;
    // What sticks out, for the message: the outermost elements whose right edge passes the viewport.
    let wide = browser
        .script(
            "return [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                            && !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5))
               .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                                      + ' ' + Math.round(e.getBoundingClientRect().right))",
        )
        .await;
    browser.resize(DESKTOP.0, DESKTOP.1).await;
    let width = width.as_u64().expect("scrollWidth");
    assert!(width <= u64::from(PHONE.0), "{page}: {width} px wide at {} px: it scrolls sideways: {wide}", PHONE.0);
}
