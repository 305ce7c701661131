//! Encrypted PDFs that open without a password (an owner password only restricts
//! printing or copying; viewers open them) are decrypted with lopdf's standard security
//! handler (RC4 and AES, revisions 2 to 6); any other is refused as encrypted.

use lopdf::encryption::PasswordAlgorithm;
use lopdf::encryption::crypt_filters::CryptFilter;

use super::object::{Dict, MAX_DEPTH, ObjRef, Object};
use crate::ExtractError;

pub(crate) struct Crypt {
    state: lopdf::EncryptionState,
}

/// The object number the encryption dictionary gets in the stand-in lopdf document when
/// it is a direct object in the trailer (lopdf expects a reference).
const STAND_IN_ID: ObjRef = (1, 0);

impl Crypt {
    /// Opens the encryption with the empty user password, or fails with
    /// [`ExtractError::Encrypted`] (a password is needed) or
    /// [`ExtractError::UnknownEncryption`].
    pub(crate) fn open(
        encrypt: &Dict,
        encrypt_ref: Option<ObjRef>,
        file_id: Option<&Object>,
    ) -> Result<Self, ExtractError> {
        let id = encrypt_ref.unwrap_or(STAND_IN_ID);
        let mut document = lopdf::Document::new();
        document.objects.insert((id.0, id.1), lopdf::Object::Dictionary(lopdf_dict(encrypt, 0)));
        document.trailer.set("Encrypt", lopdf::Object::Reference((id.0, id.1)));
        if let Some(file_id) = file_id {
            document.trailer.set("ID", lopdf_object(file_id, 0));
        }
        let algorithm = PasswordAlgorithm::try_from(&document)
            .map_err(|_| ExtractError::UnknownEncryption("not the standard security handler"))?;
        let opens = algorithm.authenticate_user_password(&document, "").is_ok()
            || algorithm.authenticate_owner_password(&document, "").is_ok();
        if !opens {
            return Err(ExtractError::Encrypted);
        }
        let state = lopdf::EncryptionState::decode(&document, "")
            .map_err(|_| ExtractError::UnknownEncryption("its crypt filters cannot be read"))?;
        Ok(Crypt { state })
    }

    pub(crate) fn decrypt_string(&self, owner: ObjRef, bytes: &[u8]) -> Vec<u8> {
        self.apply(&*self.state.get_string_filter(), owner, bytes)
    }

    pub(crate) fn decrypt_stream(&self, owner: ObjRef, bytes: &[u8]) -> Vec<u8> {
        self.apply(&*self.state.get_stream_filter(), owner, bytes)
    }

    /// Decrypts every string inside `object` (not stream data: that is decrypted when
    /// the stream is decoded).
    pub(crate) fn decrypt_strings(&self, owner: ObjRef, object: &mut Object) {
        match object {
            Object::String(bytes) => *bytes = self.decrypt_string(owner, bytes),
            // Freshly parsed, so not shared yet: decrypted in place.
            Object::Array(items) => {
                if let Some(items) = std::rc::Rc::get_mut(items) {
                    items.iter_mut().for_each(|item| self.decrypt_strings(owner, item));
                }
            }
            Object::Dict(dict) => {
                if let Some(dict) = std::rc::Rc::get_mut(dict) {
                    self.decrypt_dict(owner, dict);
                }
            }
            Object::Stream(stream) => {
                if let Some(stream) = std::rc::Rc::get_mut(stream) {
                    self.decrypt_dict(owner, &mut stream.dict);
                }
            }
            _ => {}
        }
    }

    fn decrypt_dict(&self, owner: ObjRef, dict: &mut Dict) {
        dict.values_mut().for_each(|value| self.decrypt_strings(owner, value));
    }

    /// What cannot be decrypted (a damaged string) is kept as it is.
    fn apply(&self, filter: &dyn CryptFilter, owner: ObjRef, bytes: &[u8]) -> Vec<u8> {
        filter
            .compute_key(self.state.file_encryption_key(), (owner.0, owner.1))
            .and_then(|key| filter.decrypt(&key, bytes))
            .unwrap_or_else(|_| bytes.to_vec())
    }
}

/// Our objects as lopdf's, for its security handler. Parsed objects are at most
/// [`MAX_DEPTH`] deep, and so is this recursion.
fn lopdf_object(object: &Object, depth: usize) -> lopdf::Object {
    if depth > MAX_DEPTH {
        return lopdf::Object::Null;
    }
    match object {
        Object::Null | Object::Stream(_) => lopdf::Object::Null,
        Object::Bool(b) => lopdf::Object::Boolean(*b),
        Object::Integer(i) => lopdf::Object::Integer(*i),
        Object::Real(r) => lopdf::Object::Real(*r as f32),
        Object::Name(n) => lopdf::Object::Name(n.clone()),
        Object::String(s) => lopdf::Object::String(s.clone(), lopdf::StringFormat::Literal),
        Object::Array(items) => lopdf::Object::Array(items.iter().map(|i| lopdf_object(i, depth + 1)).collect()),
        Object::Dict(dict) => lopdf::Object::Dictionary(lopdf_dict(dict, depth + 1)),
        Object::Reference((num, generation)) => lopdf::Object::Reference((*num, *generation)),
    }
}

fn lopdf_dict(dict: &Dict, depth: usize) -> lopdf::Dictionary {
    let mut out = lopdf::Dictionary::new();
    for (key, value) in dict.iter() {
        out.set(key.to_vec(), lopdf_object(value, depth));
    }
    out
}
