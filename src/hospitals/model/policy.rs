//! Who may see or change what in this context: every handler asks here.

use crate::{
    accounts::model::{Principal, UserType},
    ids::HospitalId,
};

/// The hospital whose data the caller owns, if the caller is a hospital account.
pub fn own_hospital(principal: &Principal) -> Option<HospitalId> {
    (principal.user_type == UserType::Hospital).then_some(principal.hospital_id).flatten()
}

/// Sees unapproved hospitals and every approval state.
pub fn sees_all_hospitals(principal: Option<&Principal>) -> bool {
    principal.is_some_and(Principal::is_admin)
}

/// Sees the directory exactly as an anonymous visitor does (approved hospitals, no account
/// fields): neither an admin nor a hospital account, which sees its own account's fields.
pub fn sees_public_directory(principal: Option<&Principal>) -> bool {
    !sees_all_hospitals(principal) && principal.and_then(own_hospital).is_none()
}

/// May change hospital `hospital_id`'s own record (not its approval).
pub fn may_edit_hospital(principal: &Principal, hospital_id: HospitalId) -> bool {
    principal.is_admin() || own_hospital(principal) == Some(hospital_id)
}

/// Sees hospital `hospital_id`: an approved one anyone; any other its owner and admins.
pub fn may_see_hospital(principal: Option<&Principal>, hospital_id: HospitalId, approved: bool) -> bool {
    approved || principal.is_some_and(|p| may_edit_hospital(p, hospital_id))
}

pub fn may_approve(principal: &Principal) -> bool {
    principal.is_admin()
}
