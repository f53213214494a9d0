//! Node names, packed: a million names like `n123456` cost about 11 bytes each in one
//! string, not the 40 of a `String` apiece (with its allocation). Shared, not copied: a
//! scenario, the check of its node references and its simulation hold one list.

use std::fmt;
use std::sync::Arc;

/// Node names, indexed by node id. Cloning shares them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NodeNames(Arc<Packed>);

#[derive(Default, PartialEq, Eq)]
struct Packed {
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<u32>,
}

impl NodeNames {
    pub fn new(names: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let mut packed = Packed::default();
        for name in names {
            packed.text.push_str(name.as_ref());
            let end = u32::try_from(packed.text.len()).expect("node names under 4 GiB in all");
            packed.ends.push(end);
        }
        packed.text.shrink_to_fit();
        packed.ends.shrink_to_fit();
        NodeNames(Arc::new(packed))
    }

    pub fn len(&self) -> usize {
        self.0.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.ends.is_empty()
    }

    /// The names in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| &self[i])
    }

    /// The id of the node named `name`, if any.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.iter().position(|n| n == name)
    }

    /// The names as separate strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for NodeNames {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        let Packed { text, ends } = &*self.0;
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        &text[start..ends[i] as usize]
    }
}

impl fmt::Debug for NodeNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for NodeNames {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for NodeNames {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl serde::Serialize for NodeNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pack_and_read_back_in_order() {
        let names = NodeNames::new(["n0", "", "lock10", "ü"]);
        assert_eq!(names.len(), 4);
        assert_eq!(&names[0], "n0");
        assert_eq!(&names[1], "");
        assert_eq!(&names[3], "ü");
        assert_eq!(names.position("lock10"), Some(2));
        assert_eq!(names.position("n1"), None);
        assert_eq!(names, ["n0", "", "lock10", "ü"]);
        assert_eq!(names.to_vec(), ["n0", "", "lock10", "ü"]);
        assert_eq!(
            serde_json::to_string(&names).unwrap(),
            r#"["n0","","lock10","ü"]"#
        );
        let shared = names.clone();
        assert!(Arc::ptr_eq(&shared.0, &names.0), "a clone shares the names");
    }
}
