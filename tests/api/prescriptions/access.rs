//! Who reads prescriptions: the patient; the doctor who wrote one; a doctor with a live grant; an
//! admin (audited). Nobody else, whatever the query says.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use super::{Ward, ward, written};
use crate::helpers::json_body;

/// Every read route of one prescription and of its patient.
fn object_paths(id: i64) -> [String; 2] {
    [format!("/api/records/prescriptions/{id}/"), format!("/api/records/prescriptions/{id}/versions/")]
}

#[sqlx::test]
async fn the_read_routes_answer_each_kind_of_caller_as_the_policy_says(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let p = written(&app, &doctor, patient.user.id).await;
    let id = p["id"].as_i64().expect("id");
    // the author's grant ends: they still read what they wrote
    sqlx::query("update access_grants set revoked_at = now()").execute(&db).await.expect("revoke");
    let other_patient = app.patient("omar").await;
    let elsewhere = app.approved_hospital("elsewhere").await;
    let stranger = app.working_doctor_at(&elsewhere).await;
    let expired = app.working_doctor_at(&elsewhere).await;
    app.grant(expired.id, patient.user.id, -1).await;
    let revoked = app.working_doctor_at(&elsewhere).await;
    let revoked_grant = app.grant(revoked.id, patient.user.id, 30).await;
    sqlx::query("update access_grants set revoked_at = now() where id = $1")
        .bind(revoked_grant)
        .execute(&db)
        .await
        .expect("revoke");
    // a grant for another patient gives nothing here
    let elsewhere_granted = app.working_doctor_at(&elsewhere).await;
    app.grant(elsewhere_granted.id, other_patient.user.id, 30).await;
    let granted = app.working_doctor_at(&elsewhere).await;
    app.grant(granted.id, patient.user.id, 30).await;
    let admin = app.admin().await;
    let list = format!("/api/records/patients/{}/prescriptions/", patient.user.id);

    let cases: Vec<(&str, Option<&str>, StatusCode, StatusCode)> = vec![
        ("owner", Some(&patient.token), StatusCode::OK, StatusCode::OK),
        ("author without a grant", Some(&doctor.token), StatusCode::OK, StatusCode::FORBIDDEN),
        ("doctor with a live grant", Some(&granted.token), StatusCode::OK, StatusCode::OK),
        ("admin", Some(&admin.token), StatusCode::OK, StatusCode::OK),
        ("another patient", Some(&other_patient.token), StatusCode::NOT_FOUND, StatusCode::FORBIDDEN),
        ("doctor without a grant", Some(&stranger.token), StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("doctor with an expired grant", Some(&expired.token), StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("doctor with a revoked grant", Some(&revoked.token), StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("another patient's grant", Some(&elsewhere_granted.token), StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("hospital", Some(&hospital.token), StatusCode::NOT_FOUND, StatusCode::FORBIDDEN),
        ("anonymous", None, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
    ];
    for (who, token, object_status, list_status) in cases {
        for path in object_paths(id) {
            let response = app.get(&path, token).await;
            assert_eq!(response.status(), object_status, "{who}: {path}");
            if object_status == StatusCode::OK {
                let body = json_body(response).await;
                let shown = if body.is_array() { body[0]["id"].clone() } else { body["id"].clone() };
                assert_eq!(shown, id, "{who}: {path}");
            }
        }
        let response = app.get(&list, token).await;
        assert_eq!(response.status(), list_status, "{who}: {list}");
        if list_status == StatusCode::OK {
            assert_eq!(json_body(response).await["results"][0]["id"], id, "{who}");
        }
    }
    let missing = app.get("/api/records/prescriptions/999999/", Some(&admin.token)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unknown_patient = app.get("/api/records/patients/999999/prescriptions/", Some(&admin.token)).await;
    assert_eq!(unknown_patient.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_query_saying_the_code_was_verified_grants_nothing(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let p = written(&app, &doctor, patient.user.id).await;
    let elsewhere = app.approved_hospital("elsewhere").await;
    let stranger = app.working_doctor_at(&elsewhere).await;
    let id = p["id"].as_i64().expect("id");

    for path in [
        format!("/api/records/prescriptions/{id}/?otp_verified=true"),
        format!("/api/records/prescriptions/{id}/versions/?otp_verified=true"),
        format!("/api/records/patients/{}/prescriptions/?otp_verified=true&verified=1", patient.user.id),
    ] {
        let response = app.get(&path, Some(&stranger.token)).await;

        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(app.audit_rows("records_read").await.is_empty());
}

#[sqlx::test]
async fn a_doctors_reads_are_audited_with_the_grant_and_the_owners_are_not(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let p = written(&app, &doctor, patient.user.id).await;
    let id = p["id"].as_i64().expect("id");
    let elsewhere = app.approved_hospital("elsewhere").await;
    let reader = app.working_doctor_at(&elsewhere).await;
    let grant = app.grant(reader.id, patient.user.id, 30).await;

    for path in object_paths(id) {
        assert_eq!(app.get(&path, Some(&patient.token)).await.status(), StatusCode::OK);
    }
    assert!(app.audit_rows("records_read").await.is_empty(), "the owner's reads are not audited");
    let detail = app.get(&format!("/api/records/prescriptions/{id}/"), Some(&reader.token)).await;
    let listed =
        app.get(&format!("/api/records/patients/{}/prescriptions/", patient.user.id), Some(&reader.token)).await;

    assert_eq!((detail.status(), listed.status()), (StatusCode::OK, StatusCode::OK));
    let rows = app.audit_rows("records_read").await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.actor_id, Some(reader.user.id));
        assert_eq!(row.target_id.as_deref(), Some(patient.user.id.to_string().as_str()));
        assert_eq!(row.details["grant_id"], grant);
    }
    assert_eq!(rows[0].details["read"], "prescription");
    assert_eq!(rows[0].details["object"]["id"], id);
    assert_eq!(rows[1].details["read"], "prescriptions");
}

#[sqlx::test]
async fn each_party_lists_its_own_prescriptions_and_a_doctors_or_an_admins_list_is_audited(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let mine = written(&app, &doctor, patient.user.id).await;
    let other_patient = app.patient("omar").await;
    let elsewhere = app.approved_hospital("elsewhere").await;
    let other_doctor = app.working_doctor_at(&elsewhere).await;
    let theirs = written(&app, &other_doctor, other_patient.user.id).await;
    let admin = app.admin().await;
    let ids = |body: &Value| -> Vec<i64> {
        body["results"].as_array().expect("results").iter().map(|p| p["id"].as_i64().expect("id")).collect()
    };
    let path = "/api/records/prescriptions/";

    let patient_list = json_body(app.get(path, Some(&patient.token)).await).await;
    let doctor_list = json_body(app.get(path, Some(&doctor.token)).await).await;
    let admin_list = json_body(app.get(path, Some(&admin.token)).await).await;
    let hospital_list = app.get(path, Some(&hospital.token)).await;
    let anonymous = app.get(path, None).await;

    assert_eq!(ids(&patient_list), [mine["id"].as_i64().expect("id")]);
    assert_eq!(ids(&doctor_list), [mine["id"].as_i64().expect("id")]);
    assert_eq!(
        ids(&admin_list),
        [theirs["id"].as_i64().expect("id"), mine["id"].as_i64().expect("id")],
        "newest first"
    );
    assert_eq!(admin_list["count"], 2);
    assert_eq!(hospital_list.status(), StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // The doctor's list and the admin's are reads of other people's records; the patient's is not.
    let rows = app.audit_rows("records_read").await;
    assert_eq!(rows.len(), 2, "the doctor's list and the admin's");
    assert_eq!(rows[0].actor_id, Some(doctor.user.id));
    assert_eq!(rows[0].details["patient_ids"], serde_json::json!([patient.user.id]));
    assert_eq!(rows[1].actor_id, Some(admin.user.id));
    assert_eq!(rows[1].details["read"], "prescriptions");
    let mut audited: Vec<i64> =
        rows[1].details["patient_ids"].as_array().expect("ids").iter().filter_map(Value::as_i64).collect();
    audited.sort_unstable();
    assert_eq!(audited, [patient.user.id, other_patient.user.id]);
}
