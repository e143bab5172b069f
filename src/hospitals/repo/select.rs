//! The column list of a hospital, for the one statement built at run time (the directory's
//! page, `hospitals::list_hospitals`); every static statement spells its columns out itself, as
//! `sqlx::query_as!` needs.

/// (A constant, so the `format!`ed statement carries no outside input.)
pub(super) const HOSPITAL_SELECT: &str = "select h.id, h.user_id as user, u.username as user_username, u.email as user_email, \
     h.name, h.license_number, h.email, h.phone, h.address, h.location, h.latitude, h.longitude, h.time_zone, \
     h.is_approved, h.approved_by, h.approved_at, h.created_at, h.updated_at \
     from hospitals h join users u on u.id = h.user_id";

/// [`HOSPITAL_SELECT`] with `extra` columns, over a page chosen first: `page` is a subquery over
/// `hospitals h` (filtered, ordered, limited), so only the page's rows are joined to their
/// accounts, not every row an offset skips.
pub(super) fn hospital_page(page: &str, extra: &str) -> String {
    HOSPITAL_SELECT.replacen("from hospitals h", &format!("{extra} from ({page}) h"), 1)
}
