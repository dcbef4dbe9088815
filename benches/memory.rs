//! Memory per key held by the in-memory backend, measured with a counting global allocator in
//! this bench binary: the bytes requested from the allocator and not yet freed (allocator
//! overhead and fragmentation are not counted).
//!
//! For each key shape, N keys are created, the store is written to a snapshot, and the live
//! heap is measured around loading that snapshot into a fresh backend: the delta is the store
//! itself (keys, their strings, tags, the id index), without the call log or the text. The
//! snapshot's JSON bytes per key are printed beside it, and the call log's cost per logged call
//! (the live heap around N more calls on the loaded store).
//!
//! Run: `cargo bench --no-default-features --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{CreateKeyRequest, KmsBackend, Tag};
use kms_key::spec::OWNERSHIP_TAG_KEY;

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const N: usize = 10_000;
const ROLE: &str = "arn:aws:iam::111122223333:role/AppRole";

fn minimal(_: usize) -> CreateKeyRequest {
    CreateKeyRequest::new()
}

fn typical(i: usize) -> CreateKeyRequest {
    let mut r = CreateKeyRequest::new();
    r.description = Some(format!("service {i} data key"));
    r.policy = Some(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*"}}]}}"#
    ));
    r.tags = vec![
        Tag::new(OWNERSHIP_TAG_KEY, format!("key-{i:05}")),
        Tag::new("team", "platform"),
        Tag::new("env", "prod"),
        Tag::new("service", format!("svc-{i}")),
    ];
    r
}

struct Figures {
    store_bytes_per_key: f64,
    snapshot_bytes_per_key: f64,
    call_log_bytes_per_call: f64,
}

fn measure(rt: &tokio::runtime::Runtime, request: fn(usize) -> CreateKeyRequest) -> Figures {
    let backend = InMemoryBackend::builder().known_principals([ROLE]).build();
    let ids: Vec<String> = rt.block_on(async {
        let mut ids = Vec::with_capacity(N);
        for i in 0..N {
            ids.push(
                backend
                    .create_key(request(i))
                    .await
                    .expect("created")
                    .key_id,
            );
        }
        ids
    });
    let text = backend.to_json();
    let base = live();
    let loaded = InMemoryBackend::from_json(&text).expect("loads");
    let store = live() - base;
    assert_eq!(loaded.key_count(), N);
    // The call log: N more logged calls (DescribeKey answers are dropped at once).
    let base = live();
    rt.block_on(async {
        for id in &ids {
            drop(loaded.describe_key(id).await.expect("described"));
        }
    });
    let call_log = live() - base;
    Figures {
        store_bytes_per_key: store as f64 / N as f64,
        snapshot_bytes_per_key: text.len() as f64 / N as f64,
        call_log_bytes_per_call: call_log as f64 / N as f64,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("memory held by InMemoryBackend, {N} keys (counting global allocator, live bytes)");
    println!("| key shape | store bytes/key | snapshot JSON bytes/key | call log bytes/call |");
    println!("|---|---:|---:|---:|");
    for (name, f) in [
        (
            "CreateKey with defaults (default policy)",
            minimal as fn(usize) -> CreateKeyRequest,
        ),
        ("description, 2-statement policy, 4 tags", typical),
    ] {
        let m = measure(&rt, f);
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} |",
            m.store_bytes_per_key, m.snapshot_bytes_per_key, m.call_log_bytes_per_call
        );
    }
}
