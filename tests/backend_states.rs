//! Every operation of `KmsBackend` in every reachable key state, on [`InMemoryBackend`]: success,
//! or the exact error kind and message. A refused call must leave the store exactly as it was
//! (compared through the snapshot) and be logged as one failed call.
//!
//! Columns are key fixtures: the states AWS documents (Enabled, Disabled, PendingDeletion,
//! PendingImport) reached from a symmetric key, with and without rotation, and keys that cannot
//! rotate (asymmetric, HMAC, imported, custom key stores). Where AWS's precedence is not
//! recorded, this backend checks PendingDeletion first, then whether the key can rotate at all,
//! then Disabled (so a disabled ECC key answers UnsupportedOperation).

#[allow(dead_code)]
mod conformance;

use std::time::Duration;

use kms_key::backend::memory::{Call, CustomKeyStoreKind, InMemoryBackend, ManualClock};
use kms_key::backend::{CreateKeyRequest, ErrorKind, KeyMetadata, KmsBackend, Operation, Tag};
use kms_key::spec::{KeySpec, KeyState, KeyUsage, Origin};

use conformance::{Location, call_op};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixture {
    Enabled,
    EnabledRotating,
    Disabled,
    DisabledRotating,
    PendingDeletion,
    PendingDeletionRotating,
    PendingImport,
    PendingImportPendingDeletion,
    Rsa,
    Ecc,
    DisabledEcc,
    Hmac,
    CloudHsm,
    Xks,
}

use Fixture::*;

/// The columns of [`TABLE`], in order.
const FIXTURES: [Fixture; 14] = [
    Enabled,
    EnabledRotating,
    Disabled,
    DisabledRotating,
    PendingDeletion,
    PendingDeletionRotating,
    PendingImport,
    PendingImportPendingDeletion,
    Rsa,
    Ecc,
    DisabledEcc,
    Hmac,
    CloudHsm,
    Xks,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    /// The kind and the message, with `{arn}` standing for the key ARN.
    Err(ErrorKind, &'static str),
}

const OK: Expect = Expect::Ok;
const PENDING: Expect = Expect::Err(ErrorKind::InvalidState, "{arn} is pending deletion.");
const NOT_PENDING: Expect = Expect::Err(ErrorKind::InvalidState, "{arn} is not pending deletion.");
const DISABLED: Expect = Expect::Err(ErrorKind::Disabled, "{arn} is disabled.");
const IMPORT: Expect = Expect::Err(ErrorKind::InvalidState, "{arn} is pending import.");
const NO_EXT: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} origin is EXTERNAL which is not valid for this operation.",
);
const NO_HSM: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} origin is AWS_CLOUDHSM which is not valid for this operation.",
);
const NO_XKS: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} origin is EXTERNAL_KEY_STORE which is not valid for this operation.",
);
const NO_RSA: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} KeySpec is RSA_2048 which is not valid for this operation.",
);
const NO_ECC: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} KeySpec is ECC_NIST_P256 which is not valid for this operation.",
);
const NO_HMAC: Expect = Expect::Err(
    ErrorKind::UnsupportedOperation,
    "{arn} KeySpec is HMAC_256 which is not valid for this operation.",
);

#[rustfmt::skip]
const TABLE: &[(Operation, [Expect; 14])] = &[
    //                                  Enabled  EnRot    Disabled DisRot   PendDel  PDRot    PendImp  PIPD     Rsa      Ecc      DisEcc   Hmac     CloudHsm Xks
    (Operation::CreateKey,            [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::DescribeKey,          [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::GetKeyPolicy,         [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::PutKeyPolicy,         [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::GetKeyRotationStatus, [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::EnableKeyRotation,    [OK,      OK,      DISABLED,DISABLED,PENDING, PENDING, NO_EXT,  PENDING, NO_RSA,  NO_ECC,  NO_ECC,  NO_HMAC, NO_HSM,  NO_XKS]),
    (Operation::DisableKeyRotation,   [OK,      OK,      DISABLED,DISABLED,PENDING, PENDING, NO_EXT,  PENDING, NO_RSA,  NO_ECC,  NO_ECC,  NO_HMAC, NO_HSM,  NO_XKS]),
    (Operation::EnableKey,            [OK,      OK,      OK,      OK,      PENDING, PENDING, IMPORT,  PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::DisableKey,           [OK,      OK,      OK,      OK,      PENDING, PENDING, IMPORT,  PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::UpdateKeyDescription, [OK,      OK,      OK,      OK,      PENDING, PENDING, OK,      PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::ListResourceTags,     [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::TagResource,          [OK,      OK,      OK,      OK,      PENDING, PENDING, OK,      PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::UntagResource,        [OK,      OK,      OK,      OK,      PENDING, PENDING, OK,      PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::ScheduleKeyDeletion,  [OK,      OK,      OK,      OK,      PENDING, PENDING, OK,      PENDING, OK,      OK,      OK,      OK,      OK,      OK]),
    (Operation::CancelKeyDeletion,    [NOT_PENDING, NOT_PENDING, NOT_PENDING, NOT_PENDING, OK, OK, NOT_PENDING, OK, NOT_PENDING, NOT_PENDING, NOT_PENDING, NOT_PENDING, NOT_PENDING, NOT_PENDING]),
    (Operation::ListKeys,             [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
];

fn backend() -> InMemoryBackend {
    InMemoryBackend::builder()
        .clock(ManualClock::at_epoch_secs(1_700_000_000))
        .custom_key_store("cks-1234567890abcdef0", CustomKeyStoreKind::CloudHsm, true)
        .custom_key_store("cks-abcdef01234567890", CustomKeyStoreKind::External, true)
        .build()
}

/// A backend holding one key in the fixture's state, tagged `env = dev`, with a clean call log.
async fn make(fixture: Fixture) -> (InMemoryBackend, KeyMetadata) {
    let kms = backend();
    let mut request = CreateKeyRequest::new();
    request.tags = vec![Tag::new("env", "dev")];
    match fixture {
        PendingImport | PendingImportPendingDeletion => request.origin = Some(Origin::External),
        Rsa => {
            request.key_spec = Some(KeySpec::Rsa2048);
            request.key_usage = Some(KeyUsage::EncryptDecrypt);
        }
        Ecc | DisabledEcc => {
            request.key_spec = Some(KeySpec::EccNistP256);
            request.key_usage = Some(KeyUsage::SignVerify);
        }
        Hmac => {
            request.key_spec = Some(KeySpec::Hmac256);
            request.key_usage = Some(KeyUsage::GenerateVerifyMac);
        }
        CloudHsm => {
            request.origin = Some(Origin::AwsCloudhsm);
            request.custom_key_store_id = Some("cks-1234567890abcdef0".into());
        }
        Xks => {
            request.origin = Some(Origin::ExternalKeyStore);
            request.custom_key_store_id = Some("cks-abcdef01234567890".into());
            request.xks_key_id = Some("xks-key-1".into());
        }
        _ => {}
    }
    let key = kms.create_key(request).await.expect("CreateKey");
    let id = key.key_id.as_str();
    if matches!(
        fixture,
        EnabledRotating | DisabledRotating | PendingDeletionRotating
    ) {
        kms.enable_key_rotation(id, Some(180)).await.unwrap();
    }
    if matches!(fixture, Disabled | DisabledRotating | DisabledEcc) {
        kms.disable_key(id).await.unwrap();
    }
    if matches!(
        fixture,
        PendingDeletion | PendingDeletionRotating | PendingImportPendingDeletion
    ) {
        kms.schedule_key_deletion(id, Some(7)).await.unwrap();
    }
    kms.clear_calls();
    (kms, key)
}

/// A policy the caller may keep changing: `kms:*` for the account root and the caller.
fn policy_for(kms: &InMemoryBackend, key: &KeyMetadata) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admins","Effect":"Allow","Principal":{{"AWS":["{}","{}"]}},"Action":"kms:*","Resource":"*"}}]}}"#,
        Location::of(key).root(),
        kms.caller_principal()
    )
}

#[test]
fn table_covers_every_operation_once() {
    let ops: Vec<Operation> = TABLE.iter().map(|(op, _)| *op).collect();
    assert_eq!(ops, Operation::ALL);
}

#[tokio::test]
async fn every_operation_in_every_key_state() {
    let mut failures = Vec::new();
    for (op, row) in TABLE {
        for (fixture, expect) in FIXTURES.iter().zip(row) {
            let (kms, key) = make(*fixture).await;
            let before = kms.to_json();
            let result = call_op(&kms, *op, &key.key_id, &policy_for(&kms, &key)).await;
            let logged_key = match op {
                Operation::ListKeys => None,
                Operation::CreateKey => kms.calls().last().and_then(|c| c.key_id.clone()),
                _ => Some(key.key_id.clone()),
            };
            let outcome = match (expect, &result) {
                (Expect::Ok, Ok(())) => Ok(()),
                (Expect::Err(kind, template), Err(e)) => {
                    let message = template.replace("{arn}", &key.arn);
                    if (e.kind(), e.message()) != (*kind, message.as_str()) {
                        failures.push(format!(
                            "{op} on {fixture:?}: expected {kind:?} \"{message}\", got {e}"
                        ));
                    }
                    if kms.to_json() != before {
                        failures.push(format!(
                            "{op} on {fixture:?}: a refused call changed the store"
                        ));
                    }
                    Err(*kind)
                }
                (expect, result) => {
                    failures.push(format!(
                        "{op} on {fixture:?}: expected {expect:?}, got {result:?}"
                    ));
                    continue;
                }
            };
            let expected_log = vec![Call::new(*op, logged_key.as_deref(), outcome)];
            if kms.calls() != expected_log {
                failures.push(format!(
                    "{op} on {fixture:?}: call log {:?}, expected {expected_log:?}",
                    kms.calls()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn what_each_state_reads() {
    // (enabled, KeyState) from DescribeKey and (enabled, period) from GetKeyRotationStatus.
    type Row = (Fixture, (bool, KeyState), (bool, Option<i32>));
    let table: [Row; 14] = [
        (Enabled, (true, KeyState::Enabled), (false, None)),
        (
            EnabledRotating,
            (true, KeyState::Enabled),
            (true, Some(180)),
        ),
        (Disabled, (false, KeyState::Disabled), (false, None)),
        // Disabling a key does not change its rotation setting.
        (
            DisabledRotating,
            (false, KeyState::Disabled),
            (true, Some(180)),
        ),
        (
            PendingDeletion,
            (false, KeyState::PendingDeletion),
            (false, None),
        ),
        // A key pending deletion reads as not rotating.
        (
            PendingDeletionRotating,
            (false, KeyState::PendingDeletion),
            (false, None),
        ),
        (
            PendingImport,
            (false, KeyState::PendingImport),
            (false, None),
        ),
        (
            PendingImportPendingDeletion,
            (false, KeyState::PendingDeletion),
            (false, None),
        ),
        (Rsa, (true, KeyState::Enabled), (false, None)),
        (Ecc, (true, KeyState::Enabled), (false, None)),
        (DisabledEcc, (false, KeyState::Disabled), (false, None)),
        (Hmac, (true, KeyState::Enabled), (false, None)),
        (CloudHsm, (true, KeyState::Enabled), (false, None)),
        (Xks, (true, KeyState::Enabled), (false, None)),
    ];
    for (fixture, state, rotation) in table {
        let (kms, key) = make(fixture).await;
        let described = kms.describe_key(&key.key_id).await.unwrap();
        assert_eq!(
            (described.enabled, described.key_state),
            state,
            "{fixture:?}"
        );
        let pending = state.1 == KeyState::PendingDeletion;
        assert_eq!(described.deletion_date.is_some(), pending, "{fixture:?}");
        assert_eq!(
            described.pending_deletion_window_in_days,
            pending.then_some(7),
            "{fixture:?}"
        );
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(
            (status.enabled, status.rotation_period_in_days),
            rotation,
            "{fixture:?}"
        );
        assert_eq!(
            status.next_rotation_date.is_some(),
            rotation.0,
            "{fixture:?}"
        );
    }
}

#[tokio::test]
async fn cancel_restores_the_state_before_deletion() {
    // A symmetric key comes back Disabled (with its rotation setting); an imported key whose
    // material never arrived comes back PendingImport.
    let table = [
        (PendingDeletion, (false, KeyState::Disabled), (false, None)),
        (
            PendingDeletionRotating,
            (false, KeyState::Disabled),
            (true, Some(180)),
        ),
        (
            PendingImportPendingDeletion,
            (false, KeyState::PendingImport),
            (false, None),
        ),
    ];
    for (fixture, state, rotation) in table {
        let (kms, key) = make(fixture).await;
        assert_eq!(kms.cancel_key_deletion(&key.key_id).await.unwrap(), key.arn);
        let described = kms.describe_key(&key.key_id).await.unwrap();
        assert_eq!(
            (described.enabled, described.key_state),
            state,
            "{fixture:?}"
        );
        assert_eq!(
            (
                described.deletion_date,
                described.pending_deletion_window_in_days
            ),
            (None, None),
            "{fixture:?}"
        );
        let status = kms.get_key_rotation_status(&key.key_id).await.unwrap();
        assert_eq!(
            (status.enabled, status.rotation_period_in_days),
            rotation,
            "{fixture:?}"
        );
    }
}

#[tokio::test]
async fn every_state_is_listed() {
    for fixture in FIXTURES {
        let (kms, key) = make(fixture).await;
        let page = kms.list_keys(None).await.unwrap();
        assert!(
            page.keys
                .iter()
                .any(|e| e.key_id == key.key_id && e.key_arn == key.arn),
            "{fixture:?} not listed"
        );
    }
}

#[tokio::test]
async fn successful_writes_take_effect_in_every_state_that_allows_them() {
    for fixture in FIXTURES {
        let pending = matches!(
            fixture,
            PendingDeletion | PendingDeletionRotating | PendingImportPendingDeletion
        );
        let (kms, key) = make(fixture).await;
        let id = key.key_id.as_str();
        let policy = policy_for(&kms, &key);
        kms.put_key_policy(id, &policy, false).await.unwrap();
        assert_eq!(
            conformance::json(&kms.get_key_policy(id).await.unwrap()),
            conformance::json(&policy),
            "{fixture:?}"
        );
        if pending {
            continue;
        }
        kms.update_key_description(id, "changed").await.unwrap();
        kms.tag_resource(id, &[Tag::new("added", "1")])
            .await
            .unwrap();
        kms.untag_resource(id, &["env".into()]).await.unwrap();
        let described = kms.describe_key(id).await.unwrap();
        assert_eq!(described.description, "changed", "{fixture:?}");
        assert_eq!(
            conformance::all_tags(&kms, id).await,
            [Tag::new("added", "1")],
            "{fixture:?}"
        );
        let scheduled = kms.schedule_key_deletion(id, None).await.unwrap();
        assert_eq!(
            scheduled.deletion_date.map(|d| d.secs()),
            Some(1_700_000_000 + 30 * 86_400),
            "{fixture:?}"
        );
    }
}

#[tokio::test]
async fn a_key_is_gone_once_its_deletion_date_has_passed() {
    let clock = ManualClock::at_epoch_secs(1_700_000_000);
    let kms = InMemoryBackend::builder().clock(clock.clone()).build();
    let key = kms.create_key(CreateKeyRequest::new()).await.unwrap();
    kms.schedule_key_deletion(&key.key_id, Some(7))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(7 * 86_400 - 1));
    assert_eq!(
        kms.describe_key(&key.key_id).await.unwrap().key_state,
        KeyState::PendingDeletion
    );
    clock.advance(Duration::from_secs(1));
    let err = kms.describe_key(&key.key_id).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (
            ErrorKind::NotFound,
            format!("Key '{}' does not exist", key.arn).as_str()
        )
    );
    assert!(kms.list_keys(None).await.unwrap().keys.is_empty());
    assert_eq!(kms.key_count(), 0);
}
