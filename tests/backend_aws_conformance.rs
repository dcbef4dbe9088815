//! The conformance suite on [`AwsBackend`](kms_key::backend::aws::AwsBackend) against moto
//! 5.2.5: the wire path (requests, answers, error mapping) case by case.
//!
//! moto checks few of AWS's rules, so the cases it cannot pass are listed as lax, each with
//! what moto does instead. The list comes from running every case against moto 5.2.5, not
//! from reading its source; `cargo test --test backend_aws_conformance -- --ignored` runs
//! the lax cases and shows the differences. A case that starts passing after a moto upgrade
//! should come off the list. Every backend gets a fresh handle on the one shared server, so
//! the cases (which never assume an empty account) run in parallel.
#![cfg(feature = "aws")]

#[macro_use]
mod conformance;
mod support;

conformance_suite!(moto, async { support::moto::backend() }, lax: [
    // create and describe
    create_key_every_allowed_spec_and_usage => "moto 5.2.5 refuses ECC_NIST_EDWARDS25519, ML_DSA_* and ML_KEM_* with ValidationException: they are not in its KeySpec enum",
    describe_algorithm_lists => "moto 5.2.5 gives HMAC keys EncryptionAlgorithms [RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256] and no MacAlgorithms",
    create_multi_region_key => "moto 5.2.5 makes multi-Region key ids of mrk- and a dashed UUID, not mrk- and 32 hex digits",
    create_external_origin_key_pending_import => "moto 5.2.5 creates EXTERNAL keys Enabled (KeyState Enabled), not PendingImport",
    get_key_policy_is_reformatted => "moto 5.2.5 answers GetKeyPolicy with the policy text byte for byte as it was sent",
    // CreateKey and PutKeyPolicy refusals
    create_key_requires_usage_for_non_symmetric => "moto 5.2.5 creates HMAC, RSA and ECC keys without a KeyUsage (answering KeyUsage null) instead of refusing with ValidationException",
    create_key_refuses_incompatible_usage => "moto 5.2.5 creates keys with any KeySpec and KeyUsage pair (RSA_2048 with KEY_AGREEMENT included)",
    create_key_refuses_too_many_tags => "moto 5.2.5 creates a key with 51 tags",
    create_key_refuses_reserved_tag_prefix => "moto 5.2.5 creates a key with a tag key starting with aws:",
    create_key_refuses_long_tag_key_and_value => "moto 5.2.5 creates a key with a 129-character tag key",
    create_key_refuses_long_description => "moto 5.2.5 creates a key with an 8193-character description",
    create_key_refuses_malformed_policy => "moto 5.2.5 creates a key whose policy is not JSON",
    create_key_refuses_policy_that_locks_out_the_caller => "moto 5.2.5 has no policy lockout safety check: CreateKey accepts a policy that locks the caller out",
    create_key_refuses_unknown_principal => "moto 5.2.5 accepts a CreateKey policy naming an IAM role that does not exist",
    put_key_policy_refuses_malformed_policy => "moto 5.2.5 stores a PutKeyPolicy policy that is not JSON",
    put_key_policy_refuses_policy_that_locks_out_the_caller => "moto 5.2.5 has no policy lockout safety check: PutKeyPolicy accepts a policy that locks the caller out",
    put_key_policy_refuses_unknown_principal => "moto 5.2.5 accepts a PutKeyPolicy policy naming an IAM role that does not exist",
    // reads
    key_of_other_region_or_account_is_not_found => "moto 5.2.5's DescribeKey finds a key by the id in a key ARN of any Region or account",
    // state transitions and changes
    tag_resource_counts_existing_tags => "moto 5.2.5's TagResource takes a key past 50 tags",
    tag_resource_refuses_reserved_prefix => "moto 5.2.5's TagResource accepts a tag key starting with aws:",
    tag_resource_refuses_long_key => "moto 5.2.5's TagResource accepts a 129-character tag key",
    enable_key_rotation_default_period => "moto 5.2.5's GetKeyRotationStatus answers no RotationPeriodInDays and no NextRotationDate",
    enable_key_rotation_period_changes => "moto 5.2.5 ignores EnableKeyRotation's RotationPeriodInDays: GetKeyRotationStatus answers no period",
    disabled_key_keeps_rotation_status => "moto 5.2.5's GetKeyRotationStatus answers no RotationPeriodInDays",
    enable_key_rotation_refuses_out_of_range_period => "moto 5.2.5 accepts EnableKeyRotation with RotationPeriodInDays 89 and 2561",
    rotation_on_disabled_key_is_refused => "moto 5.2.5 accepts EnableKeyRotation and DisableKeyRotation on a disabled key",
    rotation_unsupported_for_asymmetric_and_hmac_keys => "moto 5.2.5 turns rotation on for ECC, HMAC and RSA keys",
    schedule_key_deletion_default_window => "moto 5.2.5's ScheduleKeyDeletion answers the KeyId as sent (not the key ARN), without KeyState or PendingWindowInDays",
    schedule_key_deletion_with_window => "moto 5.2.5's ScheduleKeyDeletion answers no PendingWindowInDays",
    schedule_key_deletion_refuses_window_out_of_range => "moto 5.2.5 answers success without a DeletionDate to PendingWindowInDays 1, 6 and 31, and schedules nothing",
    schedule_key_deletion_twice_is_refused => "moto 5.2.5 schedules a key already pending deletion again, with a new DeletionDate",
    cancel_key_deletion_leaves_key_disabled => "moto 5.2.5's CancelKeyDeletion answers the KeyId as sent, not the key ARN",
    cancel_key_deletion_of_key_not_pending_is_refused => "moto 5.2.5 accepts CancelKeyDeletion of an enabled key (and sets its KeyState to Disabled)",
    pending_deletion_refuses_changes => "moto 5.2.5 accepts TagResource, UntagResource, UpdateKeyDescription, EnableKey, DisableKey and rotation changes on a key pending deletion",
    rotation_reads_off_while_pending_deletion => "moto 5.2.5 keeps answering KeyRotationEnabled true for a key pending deletion",
    pending_import_key_refuses_enable_and_disable => "moto 5.2.5 creates EXTERNAL keys Enabled and accepts EnableKey and DisableKey on them",
    operations_accept_key_arn => "moto 5.2.5's GetKeyRotationStatus answers no RotationPeriodInDays, and its CancelKeyDeletion answers the KeyId as sent, not the key ARN",
]);
