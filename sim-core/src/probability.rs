//! A probability, as the network's and the faults' options carry it: checked to lie in
//! [0, 1] when it is read, so a bad value is reported where it was written.

use serde::de::{self, Deserialize, Deserializer};

/// A probability in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Probability(pub f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(de::Error::custom(format!(
                "probability {p} is outside [0, 1]; write it as a fraction, e.g. 0.01 for 1%"
            )));
        }
        Ok(Probability(p))
    }
}
