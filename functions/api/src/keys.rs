//! `x-api-key`: machine clients. The presented key is looked up by its id and
//! compared by hash in constant time; a revoked key, or any key of a disabled
//! owner, is refused exactly like a wrong one.

use ferry_core::keys::{key_id, key_matches};
use ferry_core::{AuthError, KeyStore, Method, Principal};

pub async fn verify_api_key(keys: &dyn KeyStore, presented: &str) -> Result<Principal, AuthError> {
    let id = key_id(presented.trim()).ok_or(AuthError::InvalidApiKey)?;
    let record = keys.get_key(id).await.map_err(|e| AuthError::Unavailable(e.to_string()))?;
    let Some(record) = record.filter(|r| key_matches(r, presented.trim())) else {
        return Err(AuthError::InvalidApiKey);
    };
    let owner_enabled = keys.owner_enabled(&record.owner).await.map_err(|e| AuthError::Unavailable(e.to_string()))?;
    if !record.enabled || !owner_enabled {
        return Err(AuthError::InvalidApiKey);
    }
    Ok(Principal { subject: record.owner, scopes: record.scopes.into_iter().collect(), method: Method::ApiKey })
}
