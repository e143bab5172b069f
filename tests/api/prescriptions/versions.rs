//! Editing a prescription writes a new version; earlier versions never change (not through the
//! API, not through SQL), lists show the latest, racing edits never fork a chain, and demo data
//! can rebuild its prescriptions without opening a way to delete real ones.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{Ward, ward, written};
use crate::helpers::json_body;

async fn row_json(db: &PgPool, id: i64) -> Value {
    sqlx::query_scalar("select to_jsonb(p) from prescriptions p where id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("row")
}

#[sqlx::test]
async fn an_edit_writes_version_two_and_leaves_version_one_as_it_was(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let first = written(&app, &doctor, patient.user.id).await;
    let id = first["id"].as_i64().expect("id");
    let before = row_json(&db, id).await;
    let edit = json!({ "diagnosis": "Community-acquired pneumonia", "medicines": [{ "name": "Azithromycin", "dosage": "500 mg" }] });

    let response = app.patch(&format!("/api/records/prescriptions/{id}/"), &edit, Some(&doctor.token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let second = json_body(response).await;
    let second_id = second["id"].as_i64().expect("id");
    assert_ne!(second_id, id);
    assert_eq!((second["version"].as_i64(), second["previous_version"].as_i64()), (Some(2), Some(id)));
    assert_eq!(second["diagnosis"], "Community-acquired pneumonia");
    assert_eq!(second["investigations"], first["investigations"], "fields not given are kept");
    assert_eq!(second["created_at"], first["created_at"], "created_at is the chain's start");
    assert_eq!(row_json(&db, id).await, before, "version 1 is unchanged byte for byte");
    for from in [id, second_id] {
        let versions =
            json_body(app.get(&format!("/api/records/prescriptions/{from}/versions/"), Some(&patient.token)).await)
                .await;
        let listed: Vec<(i64, i64)> = versions
            .as_array()
            .expect("array")
            .iter()
            .map(|v| (v["id"].as_i64().expect("id"), v["version"].as_i64().expect("version")))
            .collect();
        assert_eq!(listed, [(id, 1), (second_id, 2)], "oldest first from version {from}");
    }
    let old = json_body(app.get(&format!("/api/records/prescriptions/{id}/"), Some(&patient.token)).await).await;
    assert_eq!((old["diagnosis"].clone(), old["attachments"].clone()), (first["diagnosis"].clone(), json!([])));
    for path in
        ["/api/records/prescriptions/".to_owned(), format!("/api/records/patients/{}/prescriptions/", patient.user.id)]
    {
        let list = json_body(app.get(&path, Some(&patient.token)).await).await;
        assert_eq!((list["count"].as_i64(), list["results"][0]["id"].as_i64()), (Some(1), Some(second_id)), "{path}");
    }
    let audit = app.audit_rows("prescription_updated").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target_id.as_deref(), Some(second_id.to_string().as_str()));
    assert_eq!(audit[0].details["changed_fields"], json!(["diagnosis", "medicines"]));
    assert!(!audit[0].details.to_string().contains("pneumonia"), "names of fields, not values");
}

#[sqlx::test]
async fn editing_a_superseded_version_is_a_409_and_an_edit_changing_nothing_writes_nothing(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let id = written(&app, &doctor, patient.user.id).await["id"].as_i64().expect("id");
    let path = format!("/api/records/prescriptions/{id}/");
    assert_eq!(
        app.patch(&path, &json!({ "doctor_notes": "Review in a week" }), Some(&doctor.token)).await.status(),
        StatusCode::OK
    );

    let stale = app.patch(&path, &json!({ "doctor_notes": "Something else" }), Some(&doctor.token)).await;
    let same = app.patch(&path, &json!({}), Some(&doctor.token)).await;

    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(json_body(stale).await["code"], "prescription_superseded");
    assert_eq!(same.status(), StatusCode::CONFLICT, "a superseded version is never the base of an edit");
    let count: i64 = sqlx::query_scalar("select count(*) from prescriptions").fetch_one(&db).await.expect("count");
    assert_eq!(count, 2);
    let latest: i64 = sqlx::query_scalar("select max(id) from prescriptions").fetch_one(&db).await.expect("id");
    let unchanged = app
        .patch(
            &format!("/api/records/prescriptions/{latest}/"),
            &json!({ "doctor_notes": "Review in a week" }),
            Some(&doctor.token),
        )
        .await;
    assert_eq!(unchanged.status(), StatusCode::OK);
    assert_eq!(json_body(unchanged).await["id"], latest);
    let count: i64 = sqlx::query_scalar("select count(*) from prescriptions").fetch_one(&db).await.expect("count");
    assert_eq!(count, 2, "nothing changed, no version written");
}

#[sqlx::test]
async fn only_the_prescribing_doctor_edits(db: PgPool) {
    let Ward { app, patient, hospital, doctor } = ward(&db).await;
    let id = written(&app, &doctor, patient.user.id).await["id"].as_i64().expect("id");
    let elsewhere = app.approved_hospital("elsewhere").await;
    let granted = app.working_doctor_at(&elsewhere).await;
    app.grant(granted.id, patient.user.id, 30).await;
    let stranger = app.working_doctor_at(&elsewhere).await;
    let other_patient = app.patient("omar").await;
    let admin = app.admin().await;
    let path = format!("/api/records/prescriptions/{id}/");
    let edit = json!({ "diagnosis": "Changed" });

    let cases = [
        (Some(granted.token.as_str()), StatusCode::FORBIDDEN),
        (Some(stranger.token.as_str()), StatusCode::FORBIDDEN),
        (Some(patient.token.as_str()), StatusCode::FORBIDDEN),
        (Some(admin.token.as_str()), StatusCode::FORBIDDEN),
        (Some(other_patient.token.as_str()), StatusCode::NOT_FOUND),
        (Some(hospital.token.as_str()), StatusCode::NOT_FOUND),
        (None, StatusCode::UNAUTHORIZED),
    ];
    for (token, status) in cases {
        assert_eq!(app.patch(&path, &edit, token).await.status(), status);
    }
    let bad = app
        .patch(&path, &json!({ "diagnosis": " ", "medicines": [{ "name": "A", "x": 1 }] }), Some(&doctor.token))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let errors = json_body(bad).await;
    assert_eq!(errors["diagnosis"], json!(["This field may not be blank."]));
    assert_eq!(errors["medicines"], json!(["Item 1: unknown field \"x\"."]));
    let missing = app.patch("/api/records/prescriptions/999999/", &edit, Some(&doctor.token)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let count: i64 = sqlx::query_scalar("select count(*) from prescriptions").fetch_one(&db).await.expect("count");
    assert_eq!(count, 1);
    assert!(app.audit_rows("prescription_updated").await.is_empty());
}

#[sqlx::test]
async fn ten_concurrent_edits_never_fork_the_chain(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let first = written(&app, &doctor, patient.user.id).await["id"].as_i64().expect("id");

    // Every request edits whatever it believes is the latest version; the races are real.
    let edits = (0..10).map(|i| {
        let app = &app;
        let token = doctor.token.clone();
        async move {
            let mut target = first;
            loop {
                let path = format!("/api/records/prescriptions/{target}/");
                let response = app.patch(&path, &json!({ "doctor_notes": format!("edit {i}") }), Some(&token)).await;
                let status = response.status();
                if status != StatusCode::CONFLICT || target != first {
                    return status;
                }
                // one retry from the chain's latest, as a client would after a 409
                target = sqlx::query_scalar("select max(id) from prescriptions").fetch_one(&app.db).await.expect("id");
            }
        }
    });
    let statuses = join_all(edits).await;

    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let versions: Vec<i32> =
        sqlx::query_scalar("select version from prescriptions where chain_id = $1 order by version")
            .bind(first)
            .fetch_all(&db)
            .await
            .expect("versions");
    let expected: Vec<i32> = (1..=i32::try_from(ok + 1).expect("small")).collect();
    assert_eq!(versions, expected, "contiguous, no duplicates, one per success");
    let heads: i64 = sqlx::query_scalar(
        "select count(*) from prescriptions p where not exists (select 1 from prescriptions n where n.previous_version = p.id)",
    )
    .fetch_one(&db)
    .await
    .expect("heads");
    assert_eq!(heads, 1, "one latest version");
}

#[sqlx::test]
async fn sql_can_neither_change_nor_delete_a_version(db: PgPool) {
    let Ward { app, patient, doctor, .. } = ward(&db).await;
    let id = written(&app, &doctor, patient.user.id).await["id"].as_i64().expect("id");
    let before = row_json(&db, id).await;

    let update = sqlx::query("update prescriptions set diagnosis = 'x'").execute(&db).await;
    let delete = sqlx::query("delete from prescriptions").execute(&db).await;
    let truncate = sqlx::query("truncate prescriptions cascade").execute(&db).await;
    // the demo-clearing switch does not open a real patient's records
    let mut tx = db.begin().await.expect("tx");
    sqlx::query("select set_config('carehub.clearing_demo_data', 'on', true)").execute(&mut *tx).await.expect("set");
    let switched = sqlx::query("delete from prescriptions").execute(&mut *tx).await;
    drop(tx);

    for result in [update, delete, truncate, switched] {
        let err = result.expect_err("refused");
        assert!(err.to_string().contains("never changes"), "{err}");
    }
    assert_eq!(row_json(&db, id).await, before);
}

#[sqlx::test]
async fn demo_data_rebuilds_its_two_version_prescription_and_clear_starts_it_over(db: PgPool) {
    let versions = || async {
        sqlx::query_as::<_, (i32, Option<i64>)>(
            "select p.version, p.previous_version from prescriptions p join users u on u.id = p.patient_id \
             where u.username = 'demo_patient' order by p.version",
        )
        .fetch_all(&db)
        .await
        .expect("versions")
    };

    let dir = tempfile::tempdir().expect("dir");
    let storage = carehub::records::files::storage::Storage::from_url(&format!("file://{}", dir.path().display()))
        .expect("storage");
    carehub::cli::demo_data::run(&db, &storage, false).await.expect("first run");
    let first = versions().await;
    carehub::cli::demo_data::run(&db, &storage, false).await.expect("second run");
    let second = versions().await;
    carehub::cli::demo_data::run(&db, &storage, true).await.expect("clear");
    let cleared = versions().await;

    assert_eq!(first.iter().map(|v| v.0).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(second.len(), 2, "rebuilt, not doubled");
    assert!(second[1].1.is_some());
    assert_eq!(cleared.len(), 2, "--clear starts over with fresh demo rows");
    let count: i64 = sqlx::query_scalar("select count(*) from prescriptions").fetch_one(&db).await.expect("count");
    assert_eq!(count, 2);
}
