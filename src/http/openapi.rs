//! The OpenAPI 3 document, generated from the handlers' annotations and served at
//! `/api/schema/` (Swagger UI at `/api/docs/`). Two passes make it say what the shared layers
//! enforce, whatever a handler declares: `CommonResponses` adds the statuses every route can
//! answer, and `without_nul` states that no request string (nor field name) may hold a NUL
//! character, which `http::nul` refuses at the edge.

use std::{collections::BTreeSet, sync::LazyLock};

use serde_json::{Value, json};

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ArrayBuilder, ContentBuilder, ObjectBuilder, OneOfBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
        path::Operation,
        schema,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{accounts, appointments, hospitals, ops};

#[derive(OpenApi)]
#[openapi(
    info(title = "CareHub API", version = "1.0.0", description = "Multi-tenant healthcare booking and records API"),
    paths(
        accounts::auth::obtain_pair,
        accounts::auth::refresh,
        accounts::auth::blacklist,
        accounts::routes::me,
        accounts::routes::replace_me,
        accounts::routes::patch_me,
        accounts::routes::change_password,
        accounts::registration::register_patient,
        accounts::routes::list_users,
        accounts::routes::dashboard_stats,
        hospitals::registration::register,
        hospitals::directory::list,
        hospitals::directory::detail,
        hospitals::directory::replace,
        hospitals::directory::patch,
        hospitals::registration::approve,
        hospitals::directory::nearby,
        hospitals::departments::list,
        hospitals::departments::create,
        hospitals::departments::detail,
        hospitals::departments::replace,
        hospitals::departments::patch,
        hospitals::departments::delete,
        hospitals::departments::of_hospital,
        hospitals::doctor_accounts::create,
        hospitals::doctors::list,
        hospitals::doctors::detail,
        hospitals::doctors::replace,
        hospitals::doctors::patch,
        hospitals::doctors::of_hospital,
        hospitals::doctor_accounts::reset_password,
        appointments::routes::book,
        appointments::routes::my_appointments,
        appointments::routes::hospital_appointments,
        appointments::routes::doctor_appointments,
        appointments::routes::detail,
        appointments::routes::assign_doctor,
        appointments::routes::set_status,
        appointments::routes::cancel,
        ops::routes::healthz,
        ops::routes::readyz,
        ops::routes::metrics,
        ops::queues::queues,
        ops::queues::retry,
    ),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Login, token rotation, logout"),
        (name = "accounts", description = "Users, registration, passwords"),
        (name = "hospitals", description = "Registration, approval, directory, nearby search"),
        (name = "departments", description = "A hospital's departments"),
        (name = "doctors", description = "A hospital's doctors"),
        (name = "appointments", description = "Booking, assignment, status"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the `jwtAuth` bearer scheme the operations refer to (the reference's name).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("jwtAuth", SecurityScheme::Http(scheme));
    }
}

/// Declares on every operation the answers the shared layers give, whatever the handler: 401 and
/// 403 where a token is needed (403 also for a generated password that must be changed), 401
/// where an optional token is sent bad, 404 where the path names an object, 400 where there is a
/// body or query to refuse (a NUL character in any field, for one), 413 and 415 for bodies. So a
/// new route cannot forget them, and the document says every status the server can answer.
struct CommonResponses;

impl CommonResponses {
    fn error(description: &str) -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build(),
        )
    }

    fn validation() -> RefOr<Response> {
        let message = ObjectBuilder::new().schema_type(Type::String);
        let messages = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let lists = ObjectBuilder::new()
            .additional_properties(Some(schema::AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                OneOfBuilder::new().item(message).item(messages).build(),
            )))))
            .description(Some(
                "Messages by field name (`non_field_errors` for the rest), or `detail` and `code` for a body \
                 that could not be read at all",
            ));
        RefOr::T(
            ResponseBuilder::new()
                .description("Invalid input")
                .content("application/json", ContentBuilder::new().schema(Some(lists)).build())
                .build(),
        )
    }
}

/// `None`: public; `Some(true)`: a token is required; `Some(false)`: a token is optional.
fn token_rule(operation: &Operation) -> Option<bool> {
    let requirements = operation.security.as_ref().filter(|reqs| !reqs.is_empty())?;
    let optional = requirements
        .iter()
        .any(|req| serde_json::to_value(req).is_ok_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty)));
    Some(!optional)
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let names_object = path.contains('{');
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let has_input = has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let token = token_rule(operation);
                let responses = &mut operation.responses.responses;
                let mut declare = |status: &str, response: fn() -> RefOr<Response>| {
                    responses.entry(status.to_owned()).or_insert_with(response);
                };
                match token {
                    Some(true) => {
                        declare("401", || {
                            Self::error("No token, or a token not valid (`not_authenticated`, `token_not_valid`)")
                        });
                        declare("403", || {
                            Self::error(
                                "Not allowed for this account (`permission_denied`, `password_change_required`)",
                            )
                        });
                    }
                    Some(false) => declare("401", || Self::error("A token was sent and is not valid")),
                    None => {}
                }
                if names_object {
                    declare("404", || Self::error("No such object, or another tenant's"));
                }
                if has_input || names_object {
                    declare("400", Self::validation);
                }
                if has_body {
                    declare("413", || Self::error("The body is too large"));
                    declare("415", || Self::error("The body is neither JSON nor a form"));
                }
            }
        }
    }
}

/// The regex (ECMA 262) of a string without a NUL character.
const NO_NUL: &str = "^[^\\u0000]*$";
/// A required text field: not blank (DRF's "This field may not be blank.") and without NUL.
const NOT_BLANK: &str = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$";
/// The component naming any JSON value without a NUL character in a string or a field name:
/// what an object accepts beside its documented fields (they are ignored, but a NUL in them is
/// refused like anywhere else).
const ANY_WITHOUT_NUL: &str = "JsonWithoutNul";

/// The served document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
        without_nul(&mut document);
        invalid_pages(&mut document);
        document
    });
    &DOCUMENT
}

/// States the NUL rule on every request string (parameters and bodies, followed through `$ref`).
fn without_nul(document: &mut Value) {
    let any = json!({ "anyOf": [
        { "type": "string", "pattern": NO_NUL },
        { "type": ["number", "boolean", "null"] },
        { "type": "array", "items": { "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") } },
        { "type": "object", "propertyNames": { "pattern": NO_NUL },
          "additionalProperties": { "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") } },
    ]});
    let with_required_fields: BTreeSet<String> = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty()))
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let mut referenced = BTreeSet::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                    if let Some(schema) = parameter.get_mut("schema") {
                        tighten(schema, &mut referenced);
                    }
                }
                if let Some(body) = operation.get_mut("requestBody").and_then(Value::as_object_mut) {
                    // An empty body is read as `{}`: only an operation with required fields
                    // refuses it.
                    let schema =
                        body.get("content").and_then(|c| c.get("application/json")).and_then(|m| m.get("schema"));
                    let needs_fields = schema.is_some_and(|schema| {
                        schema.get("$ref").and_then(Value::as_str).is_some_and(|r| with_required_fields.contains(r))
                            || schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty())
                    });
                    body.insert("required".into(), json!(needs_fields));
                }
                let bodies =
                    operation.get_mut("requestBody").and_then(|b| b.get_mut("content")).and_then(Value::as_object_mut);
                for media in bodies.into_iter().flat_map(|c| c.values_mut()) {
                    if let Some(schema) = media.get_mut("schema") {
                        tighten(schema, &mut referenced);
                    }
                }
            }
        }
    }
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let mut done = BTreeSet::new();
    while let Some(name) = referenced.iter().find(|n| !done.contains(*n)).cloned() {
        done.insert(name.clone());
        if let Some(schema) = schemas.get_mut(&name) {
            tighten(schema, &mut referenced);
        }
    }
    schemas.insert(ANY_WITHOUT_NUL.to_owned(), any);
}

/// One schema: strings get the pattern, objects the rule for their names and undocumented
/// fields, free-form values the NUL-free "anything"; `$ref`s are collected for the caller.
fn tighten(schema: &mut Value, referenced: &mut BTreeSet<String>) {
    let Some(object) = schema.as_object_mut() else { return };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
            referenced.insert(name.to_owned());
        }
        return;
    }
    let types: Vec<String> = match object.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let composite = ["allOf", "anyOf", "oneOf"].iter().any(|k| object.contains_key(*k));
    if types.is_empty() && !composite && !object.contains_key("properties") && !object.contains_key("enum") {
        object.insert("$ref".into(), json!(format!("#/components/schemas/{ANY_WITHOUT_NUL}")));
        return;
    }
    if types.iter().any(|t| t == "string") && !object.contains_key("pattern") && !object.contains_key("enum") {
        object.insert("pattern".into(), json!(NO_NUL));
    }
    if types.iter().any(|t| t == "object") || object.contains_key("properties") {
        object.entry("propertyNames").or_insert_with(|| json!({ "pattern": NO_NUL }));
        object
            .entry("additionalProperties")
            .or_insert_with(|| json!({ "$ref": format!("#/components/schemas/{ANY_WITHOUT_NUL}") }));
    }
    let required: BTreeSet<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            let is_plain_string = property.get("type") == Some(&json!("string"))
                && property.get("pattern").is_none()
                && property.get("enum").is_none()
                && property.get("format").is_none_or(|f| f == "password");
            if required.contains(name) && is_plain_string {
                property["pattern"] = json!(NOT_BLANK);
            }
            tighten(property, referenced);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            tighten(inner, referenced);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in object.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            tighten(part, referenced);
        }
    }
}

/// A page past the end (or below 1) is DRF's 404 "Invalid page." on every paginated list.
fn invalid_pages(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let paginated = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "page" && p["in"] == "query"));
        if let (true, Some(responses)) = (paginated, operation.get_mut("responses").and_then(Value::as_object_mut)) {
            responses.entry("404").or_insert_with(|| {
                json!({ "description": "Invalid page (`not_found`)", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
            });
        }
    }
}
