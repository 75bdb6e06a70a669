//! The bare reference server of `bench/run.sh`: a measuring stick, not part
//! of the product. It answers the two calls `examples/loadgen.rs` makes with
//! the minimum any one-time secret server must do — AES-256-GCM seal of the
//! secret under a random key, store it, say whether it is there, and on
//! reveal take it out atomically and open it — and nothing else: no key derivation, key check, idempotency,
//! audit, metrics, limits or validation beyond what the load generator sends.
//!
//! ```text
//! reference --listen 127.0.0.1:18081 --store memory
//! reference --listen 127.0.0.1:18081 --store redis://127.0.0.1:6390
//! ```
//!
//! Redis: `SET … EX` on create, `EXISTS` on the metadata read, `GETDEL` on
//! reveal, over one multiplexed connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TTL_SECS: u64 = 3600;

#[derive(Clone)]
enum Store {
    Memory(Arc<Mutex<HashMap<String, Vec<u8>>>>),
    Redis(redis::aio::MultiplexedConnection),
}

#[derive(Deserialize)]
struct Create {
    secret: String,
}

#[derive(Serialize)]
struct Created {
    id: String,
    url: String,
}

#[derive(Deserialize)]
struct Reveal {
    key: String,
}

#[derive(Serialize)]
struct Revealed {
    secret: String,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random generator works");
    bytes
}

async fn create(
    State(store): State<Store>,
    Json(body): Json<Create>,
) -> Result<(StatusCode, Json<Created>), StatusCode> {
    let id = URL_SAFE_NO_PAD.encode(random::<16>());
    let key = random::<32>();
    let nonce = random::<12>();
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), body.secret.as_bytes())
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let value = [nonce.as_slice(), &sealed].concat();
    match store {
        Store::Memory(map) => {
            map.lock().expect("not poisoned").insert(id.clone(), value);
        }
        Store::Redis(mut redis) => {
            let () = redis
                .set_ex(format!("ref:{id}"), value, TTL_SECS)
                .await
                .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        }
    }
    let url = format!("http://reference/s/{id}#{}", URL_SAFE_NO_PAD.encode(key));
    Ok((StatusCode::CREATED, Json(Created { id, url })))
}

/// The metadata read `loadgen --mode handoff` makes before revealing: is it
/// there (nothing consumed).
async fn metadata(State(store): State<Store>, Path(id): Path<String>) -> StatusCode {
    let exists = match store {
        Store::Memory(map) => map.lock().expect("not poisoned").contains_key(&id),
        Store::Redis(mut redis) => redis.exists(format!("ref:{id}")).await.unwrap_or(false),
    };
    if exists {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn reveal(
    State(store): State<Store>,
    Path(id): Path<String>,
    Json(body): Json<Reveal>,
) -> Result<Json<Revealed>, StatusCode> {
    let key = URL_SAFE_NO_PAD
        .decode(body.key)
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    let value: Option<Vec<u8>> = match store {
        Store::Memory(map) => map.lock().expect("not poisoned").remove(&id),
        Store::Redis(mut redis) => redis
            .get_del(format!("ref:{id}"))
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?,
    };
    let value = value.ok_or(StatusCode::NOT_FOUND)?;
    if value.len() < 12 {
        return Err(StatusCode::NOT_FOUND);
    }
    let (nonce, sealed) = value.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| StatusCode::NOT_FOUND)?;
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| StatusCode::NOT_FOUND)?;
    let plain = cipher
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| StatusCode::NOT_FOUND)?;
    let secret = String::from_utf8(plain).map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(Json(Revealed { secret }))
}

fn argument(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen = argument(&args, "--listen").ok_or("--listen HOST:PORT is required")?;
    let store = match argument(&args, "--store").as_deref() {
        None | Some("memory") => Store::Memory(Arc::default()),
        Some(url) if url.starts_with("redis://") => {
            let client = redis::Client::open(url)?;
            Store::Redis(client.get_multiplexed_async_connection().await?)
        }
        Some(other) => return Err(format!("--store '{other}': memory or redis://…").into()),
    };
    let app = Router::new()
        .route("/api/v1/secrets", post(create))
        .route("/api/v1/secrets/{id}", get(metadata))
        .route("/api/v1/secrets/{id}/reveal", post(reveal))
        .route("/readyz", get(|| async { "ready" }))
        .with_state(store);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
