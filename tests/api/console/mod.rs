//! The operations console (`/console/`) as a person uses it: a real headless Chromium driven
//! over WebDriver (`browser`), signing in with a second factor (`sign_in`), the rules every page
//! keeps (`pages`), an admin's walk through every page (`walkthrough`, which also writes the
//! screenshots in `docs/console/`), and what the console refuses (`refusals`).

mod browser;
mod pages;
mod refusals;
mod sign_in;
mod walkthrough;
