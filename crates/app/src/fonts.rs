//! The interface's fonts: DejaVu Sans (regular and bold, from Debian's fonts-dejavu-core,
//! `assets/fonts/`, Bitstream Vera licence), which holds every Vietnamese letter, loaded into
//! egui ahead of its own fonts.

use skrifa::MetadataProvider;

/// DejaVu Sans.
pub const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
pub const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The characters of `text` the font has no glyph for (whitespace aside).
pub fn missing_glyphs(font: &[u8], text: &str) -> Vec<char> {
    let Ok(f) = skrifa::FontRef::new(font) else {
        return text.chars().collect();
    };
    let map = f.charmap();
    let mut out: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && map.map(*c).is_none_or(|g| g.to_u32() == 0))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every Vietnamese letter, lower and upper case (the 12 vowels in their six tones, and đ).
pub fn vietnamese_letters() -> String {
    let lower = "aàáạảãâầấậẩẫăằắặẳẵeèéẹẻẽêềếệểễiìíịỉĩoòóọỏõôồốộổỗơờớợởỡuùúụủũưừứựửữyỳýỵỷỹđ";
    let upper: String = lower.chars().flat_map(char::to_uppercase).collect();
    format!("{lower}{upper}")
}

/// egui's fonts with DejaVu Sans first in both families (egui's own behind it for symbols).
pub fn egui_fonts() -> bevy_egui::egui::FontDefinitions {
    use bevy_egui::egui::{FontData, FontDefinitions, FontFamily};
    use std::sync::Arc;
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert("dejavu".into(), Arc::new(FontData::from_static(REGULAR)));
    fonts
        .font_data
        .insert("dejavu-bold".into(), Arc::new(FontData::from_static(BOLD)));
    for fam in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(fam)
            .or_default()
            .insert(0, "dejavu".into());
    }
    fonts.families.insert(
        FontFamily::Name("bold".into()),
        vec!["dejavu-bold".into(), "dejavu".into()],
    );
    fonts
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_model::{Department, Layer};

    #[test]
    fn dejavu_holds_every_vietnamese_letter_and_every_layer_and_owner_name() {
        let mut text = vietnamese_letters();
        // 12 vowels in 6 tones, and đ; lower and upper case.
        assert_eq!(text.chars().count(), 2 * (12 * 6 + 1));
        for l in Layer::ALL {
            text.push_str(l.name_vi());
            text.push_str(l.name_en());
            text.push_str(l.default_owner().name_vi());
        }
        text.push_str(Department::Education.name_vi());
        for font in [REGULAR, BOLD] {
            assert_eq!(missing_glyphs(font, &text), Vec::<char>::new());
        }
        // The check can fail: a CJK ideograph is not in DejaVu Sans.
        assert_eq!(missing_glyphs(REGULAR, "a水"), vec!['水']);
    }
}
