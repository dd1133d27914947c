//! A defensive GGUF reader. Every length, count and offset read from the file is checked
//! against the bytes that remain before anything is allocated, so a truncated, bit-flipped or
//! hostile file yields an [`Error::Gguf`] that names the file and the problem — never a panic or
//! a huge allocation.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

pub const MAGIC: &[u8; 4] = b"GGUF";
/// Nested arrays deeper than this are rejected (real files use depth 1).
const MAX_ARRAY_DEPTH: usize = 4;
const MAX_DIMS: u32 = 4;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        Some(match *self {
            Value::U8(v) => v as u64,
            Value::U16(v) => v as u64,
            Value::U32(v) => v as u64,
            Value::U64(v) => v,
            Value::I8(v) if v >= 0 => v as u64,
            Value::I16(v) if v >= 0 => v as u64,
            Value::I32(v) if v >= 0 => v as u64,
            Value::I64(v) if v >= 0 => v as u64,
            _ => return None,
        })
    }

    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::I8(v) => v as i64,
            Value::I16(v) => v as i64,
            Value::I32(v) => v as i64,
            Value::I64(v) => v,
            Value::U8(v) => v as i64,
            Value::U16(v) => v as i64,
            Value::U32(v) => v as i64,
            Value::U64(v) => i64::try_from(v).ok()?,
            _ => return None,
        })
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// GGML tensor types, with their on-disk ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    Bf16,
}

impl GgmlType {
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            9 => Self::Q8_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            30 => Self::Bf16,
            _ => return None,
        })
    }

    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::Bf16 => 30,
        }
    }

    /// Elements per block.
    pub fn block_elems(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::Bf16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 | Self::Q8_1 => 32,
            Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K | Self::Q8K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::Bf16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q8_1 => 36,
            Self::Q2K => 84,
            Self::Q3K => 110,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
            Self::Q8K => 292,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
            Self::Bf16 => "BF16",
        }
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a tensor's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `dims[0]` is the fastest-varying (row length).
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Absolute offset of the first byte in the file.
    pub offset: u64,
    pub size: u64,
}

impl TensorInfo {
    pub fn elems(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// The header of a GGUF file: metadata and tensor directory.
#[derive(Debug, Clone)]
pub struct Gguf {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    pub file_len: u64,
}

impl Gguf {
    /// Reads the header of the file at `path` (tensor data is not read).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        Self::parse(reader, len, path)
    }

    /// Parses a header from any reader; `len` is the total byte length of the source.
    pub fn parse<R: Read>(reader: R, len: u64, path: &Path) -> Result<Self> {
        let mut r = Reader {
            inner: reader,
            pos: 0,
            len,
            path,
        };
        let magic: [u8; 4] = r.array("magic")?;
        if &magic != MAGIC {
            return Err(r.fail(format!(
                "not a GGUF file: magic is {:?}, expected \"GGUF\"",
                String::from_utf8_lossy(&magic)
            )));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(r.fail(format!(
                "unsupported GGUF version {version} (supported: 2, 3)"
            )));
        }
        let tensor_count = r.u64("tensor count")?;
        let kv_count = r.u64("metadata count")?;
        // Each metadata pair takes at least 12 bytes, each tensor entry at least 28.
        r.plausible(kv_count, 12, "metadata count")?;
        r.plausible(tensor_count, 28, "tensor count")?;

        let mut metadata = BTreeMap::new();
        for i in 0..kv_count {
            let key = r.string(&format!("metadata key #{i}"))?;
            let ty = r.u32(&format!("type of `{key}`"))?;
            let value = r.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
                _ => return Err(r.fail(format!("general.alignment {v:?} is not a power of two"))),
            },
        };

        let mut tensors = Vec::with_capacity(tensor_count as usize);
        for i in 0..tensor_count {
            let name = r.string(&format!("name of tensor #{i}"))?;
            let n_dims = r.u32(&format!("dimension count of `{name}`"))?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(r.fail(format!(
                    "tensor `{name}` has {n_dims} dimensions (1–{MAX_DIMS} allowed)"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for d in 0..n_dims {
                dims.push(r.u64(&format!("dimension {d} of `{name}`"))?);
            }
            let ty_id = r.u32(&format!("type of tensor `{name}`"))?;
            let ty = GgmlType::from_id(ty_id).ok_or_else(|| {
                r.fail(format!("tensor `{name}` has unsupported type id {ty_id}"))
            })?;
            let rel_offset = r.u64(&format!("offset of `{name}`"))?;
            let elems = dims
                .iter()
                .try_fold(1u64, |acc, d| acc.checked_mul(*d))
                .ok_or_else(|| r.fail(format!("tensor `{name}` dimensions {dims:?} overflow")))?;
            if dims.contains(&0) {
                return Err(r.fail(format!("tensor `{name}` has a zero dimension {dims:?}")));
            }
            let block = ty.block_elems() as u64;
            if dims[0] % block != 0 {
                return Err(r.fail(format!(
                    "tensor `{name}` row length {} is not a multiple of the {ty} block size {block}",
                    dims[0]
                )));
            }
            let size = (elems / block)
                .checked_mul(ty.block_bytes() as u64)
                .ok_or_else(|| r.fail(format!("tensor `{name}` size overflows")))?;
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset: rel_offset,
                size,
            });
        }
        let data_start = r.pos.div_ceil(alignment) * alignment;
        for t in &mut tensors {
            let start = data_start.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.size));
            match (start, end) {
                (Some(s), Some(e)) if e <= len => t.offset = s,
                _ => {
                    return Err(Error::Gguf {
                        path: path.to_path_buf(),
                        message: format!(
                            "tensor `{}` ({} bytes at data offset {}) extends past the end of the file ({len} bytes): the file is truncated or corrupt",
                            t.name, t.size, t.offset
                        ),
                    });
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for t in &tensors {
            if !names.insert(t.name.as_str()) {
                return Err(Error::Gguf {
                    path: path.to_path_buf(),
                    message: format!("tensor `{}` appears twice", t.name),
                });
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            version,
            metadata,
            tensors,
            file_len: len,
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.get("general.architecture")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Gguf {
                path: self.path.clone(),
                message: "metadata `general.architecture` is missing".into(),
            })
    }

    /// A required unsigned metadata value.
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.missing(key, "an unsigned integer"))
    }

    /// A required float metadata value.
    pub fn f64(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.missing(key, "a number"))
    }

    pub fn missing(&self, key: &str, what: &str) -> Error {
        Error::Gguf {
            path: self.path.clone(),
            message: format!("metadata `{key}` must be {what}"),
        }
    }

    /// Reads the raw bytes of a tensor.
    pub fn read_tensor(&self, file: &std::fs::File, t: &TensorInfo) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; t.size as usize];
        file.read_exact_at(&mut buf, t.offset)
            .map_err(|e| Error::Gguf {
                path: self.path.clone(),
                message: format!("cannot read tensor `{}`: {e}", t.name),
            })?;
        Ok(buf)
    }
}

struct Reader<'p, R> {
    inner: R,
    pos: u64,
    len: u64,
    path: &'p Path,
}

impl<R: Read> Reader<'_, R> {
    fn fail(&self, message: String) -> Error {
        Error::Gguf {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn need(&self, n: u64, what: &str) -> Result<()> {
        if n > self.remaining() {
            return Err(self.fail(format!(
                "truncated: {what} needs {n} bytes at offset {} but the file ends at {}",
                self.pos, self.len
            )));
        }
        Ok(())
    }

    fn plausible(&self, count: u64, min_each: u64, what: &str) -> Result<()> {
        if count.saturating_mul(min_each) > self.remaining() {
            return Err(self.fail(format!(
                "{what} {count} is impossible for a file of {} bytes (corrupt header)",
                self.len
            )));
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        self.need(N as u64, what)?;
        let mut b = [0u8; N];
        self.inner
            .read_exact(&mut b)
            .map_err(|e| self.fail(format!("reading {what}: {e}")))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        self.need(n, what)?;
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.fail(format!("reading {what}: {e}")))?;
        self.pos += n;
        String::from_utf8(buf).map_err(|e| {
            self.fail(format!(
                "{what} is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(u8::from_le_bytes(self.array(key)?)),
            1 => Value::I8(i8::from_le_bytes(self.array(key)?)),
            2 => Value::U16(u16::from_le_bytes(self.array(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(key)?)),
            4 => Value::U32(u32::from_le_bytes(self.array(key)?)),
            5 => Value::I32(i32::from_le_bytes(self.array(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(key)?)),
            7 => match self.array::<1>(key)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.fail(format!("`{key}` has invalid bool byte {b}"))),
            },
            8 => Value::String(self.string(&format!("value of `{key}`"))?),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.fail(format!(
                        "`{key}` nests arrays deeper than {MAX_ARRAY_DEPTH}"
                    )));
                }
                let elem_ty = self.u32(key)?;
                let n = self.u64(key)?;
                let min = match elem_ty {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    10..=12 => 8,
                    8 => 8,
                    9 => 12,
                    t => return Err(self.fail(format!("`{key}` is an array of unknown type {t}"))),
                };
                self.plausible(n, min, &format!("length of array `{key}`"))?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem_ty, key, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(u64::from_le_bytes(self.array(key)?)),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            t => return Err(self.fail(format!("`{key}` has unknown value type {t}"))),
        })
    }
}

/// Writes GGUF files: used by tests to make tiny models and malformed fixtures.
pub mod write {
    use super::{GgmlType, Value};

    /// One tensor to write, with its raw bytes already in `ty`'s layout.
    pub struct TensorData {
        pub name: String,
        pub dims: Vec<u64>,
        pub ty: GgmlType,
        pub bytes: Vec<u8>,
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    fn type_id(v: &Value) -> u32 {
        match v {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    fn value(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U8(x) => out.push(*x),
            Value::I8(x) => out.extend(x.to_le_bytes()),
            Value::U16(x) => out.extend(x.to_le_bytes()),
            Value::I16(x) => out.extend(x.to_le_bytes()),
            Value::U32(x) => out.extend(x.to_le_bytes()),
            Value::I32(x) => out.extend(x.to_le_bytes()),
            Value::F32(x) => out.extend(x.to_le_bytes()),
            Value::Bool(x) => out.push(*x as u8),
            Value::String(s) => string(out, s),
            Value::Array(items) => {
                let ty = items.first().map(type_id).unwrap_or(4);
                out.extend(ty.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for i in items {
                    value(out, i);
                }
            }
            Value::U64(x) => out.extend(x.to_le_bytes()),
            Value::I64(x) => out.extend(x.to_le_bytes()),
            Value::F64(x) => out.extend(x.to_le_bytes()),
        }
    }

    /// Serialises a complete GGUF v3 file with 32-byte alignment.
    pub fn to_bytes(metadata: &[(String, Value)], tensors: &[TensorData]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(super::MAGIC);
        out.extend(3u32.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((metadata.len() as u64).to_le_bytes());
        for (k, v) in metadata {
            string(&mut out, k);
            out.extend(type_id(v).to_le_bytes());
            value(&mut out, v);
        }
        let mut offset = 0u64;
        let mut offsets = Vec::new();
        for t in tensors {
            string(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ty.id().to_le_bytes());
            out.extend(offset.to_le_bytes());
            offsets.push(offset);
            offset += (t.bytes.len() as u64).div_ceil(32) * 32;
        }
        while out.len() % 32 != 0 {
            out.push(0);
        }
        let base = out.len();
        for (t, off) in tensors.iter().zip(offsets) {
            out.resize(base + off as usize, 0);
            out.extend(&t.bytes);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::write::{TensorData, to_bytes};
    use super::*;

    fn sample() -> Vec<u8> {
        to_bytes(
            &[
                ("general.architecture".into(), Value::String("llama".into())),
                ("llama.block_count".into(), Value::U32(2)),
                (
                    "tokenizer.ggml.tokens".into(),
                    Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
                ),
            ],
            &[TensorData {
                name: "w".into(),
                dims: vec![32, 2],
                ty: GgmlType::F32,
                bytes: vec![0; 256],
            }],
        )
    }

    fn parse(bytes: &[u8]) -> Result<Gguf> {
        Gguf::parse(bytes, bytes.len() as u64, Path::new("test.gguf"))
    }

    #[test]
    fn round_trip() {
        let g = parse(&sample()).unwrap();
        assert_eq!(g.architecture().unwrap(), "llama");
        assert_eq!(g.u64("llama.block_count").unwrap(), 2);
        let t = g.tensor("w").unwrap();
        assert_eq!(t.size, 256);
        assert_eq!(t.offset % 32, 0);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            let err = parse(&bytes[..cut]).unwrap_err().to_string();
            assert!(err.contains("test.gguf"), "{err}");
        }
    }

    #[test]
    fn wrong_magic_and_version() {
        let mut b = sample();
        b[0] = b'X';
        assert!(
            parse(&b)
                .unwrap_err()
                .to_string()
                .contains("not a GGUF file")
        );
        let mut b = sample();
        b[4] = 9;
        assert!(
            parse(&b)
                .unwrap_err()
                .to_string()
                .contains("unsupported GGUF version 9")
        );
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut b = sample();
        b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("tensor count"));
        let mut b = sample();
        // The first metadata key's length.
        b[24..32].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("truncated"));
    }
}
