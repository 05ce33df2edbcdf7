//! Pictures in the details panel: an image message's picture (or a video's thumbnail)
//! decoded and encoded for the terminal with `ratatui-image`: kitty, sixel or iTerm2
//! graphics where the terminal has them, half-blocks everywhere else.
//!
//! The bytes come from a message and are untrusted. Decoding is bounded: at most
//! [`MAX_PICTURE_BYTES`] are fetched, a picture wider or taller than [`MAX_SIDE`] pixels
//! is refused from its header before anything is allocated for it, and the decoder may
//! allocate at most [`MAX_DECODE_ALLOC`]. Every failure is a [`PictureError`] the panel
//! shows as one line. Both steps cost milliseconds to seconds, so they run on a blocking
//! thread of the fetch task, never on the UI thread; the view only copies the encoded
//! cells into the frame.

use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use image::{DynamicImage, ImageError, ImageReader, Limits};
use ratatui::layout::Rect;
use ratatui_image::Resize;
use ratatui_image::picker::Picker;
use ratatui_image::protocol::Protocol;

/// The most bytes of a picture fetched for a preview.
pub const MAX_PICTURE_BYTES: u64 = 20 << 20;
/// The widest or tallest picture decoded, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// The most memory the decoder may allocate.
pub const MAX_DECODE_ALLOC: u64 = 256 << 20;
/// A decoded picture larger than this on a side is shrunk once, so encoding it again for
/// another panel size stays cheap.
const WORKING_SIDE: u32 = 2048;

/// Why a picture cannot be shown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    /// Not a picture in a format roam reads, or a broken one.
    #[error("not a picture roam can show ({0})")]
    Unreadable(String),
    /// Over the decoding limits.
    #[error("the picture is too large to show ({0})")]
    TooLarge(String),
    /// The terminal encoding failed.
    #[error("cannot draw the picture ({0})")]
    Encoding(String),
}

/// Decodes `bytes` within the limits above, shrinking a very large picture once.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PictureError::Unreadable(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(l) => PictureError::TooLarge(l.to_string()),
        other => PictureError::Unreadable(other.to_string()),
    })?;
    Ok(
        if image.width() > WORKING_SIDE || image.height() > WORKING_SIDE {
            image.thumbnail(WORKING_SIDE, WORKING_SIDE)
        } else {
            image
        },
    )
}

/// A picture encoded for the terminal, to fit a box of cells.
#[derive(Clone)]
pub struct Picture {
    protocol: Arc<Protocol>,
    /// The box it was made to fit (columns, rows).
    fits: (u16, u16),
    /// The picture's own size in pixels.
    pixels: (u32, u32),
}

impl Picture {
    /// The box of cells it was made to fit.
    pub fn fits(&self) -> (u16, u16) {
        self.fits
    }

    /// The cells it takes (within [`fits`](Self::fits)).
    pub fn area(&self) -> Rect {
        self.protocol.area()
    }

    /// The picture's size in pixels (after any shrinking on decoding).
    pub fn pixels(&self) -> (u32, u32) {
        self.pixels
    }

    /// What the image widget draws.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }
}

impl fmt::Debug for Picture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Picture")
            .field("fits", &self.fits)
            .field("area", &self.area())
            .field("pixels", &self.pixels)
            .finish()
    }
}

/// The same encoding: pictures are compared by identity, never pixel by pixel.
impl PartialEq for Picture {
    fn eq(&self, other: &Picture) -> bool {
        Arc::ptr_eq(&self.protocol, &other.protocol)
    }
}

impl Eq for Picture {}

/// Encodes `image` to fit `fits` (columns, rows) with `picker`'s protocol, keeping its
/// aspect ratio; a small picture (a thumbnail) is enlarged to fill the box.
pub fn encode(
    picker: &Picker,
    image: &DynamicImage,
    fits: (u16, u16),
) -> Result<Picture, PictureError> {
    let size = Rect::new(0, 0, fits.0, fits.1);
    let protocol = picker
        .new_protocol(
            image.clone(),
            size,
            Resize::Scale(Some(image::imageops::FilterType::Triangle)),
        )
        .map_err(|e| PictureError::Encoding(e.to_string()))?;
    Ok(Picture {
        protocol: Arc::new(protocol),
        fits,
        pixels: (image.width(), image.height()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::files::png;

    /// A PNG of only a header declaring `w`×`h` pixels, with correct checksums.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(w.to_be_bytes());
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        out.extend(13u32.to_be_bytes());
        out.extend(&ihdr);
        let mut crc = flate2::Crc::new();
        crc.update(&ihdr);
        out.extend(crc.sum().to_be_bytes());
        out
    }

    #[test]
    fn a_picture_decodes_and_fits_its_box() {
        let image = decode(&png(64, 48)).expect("the demo's picture");
        assert_eq!((image.width(), image.height()), (64, 48));
        let picture = encode(&Picker::halfblocks(), &image, (20, 10)).expect("encoded");
        let area = picture.area();
        assert!(area.width <= 20 && area.height <= 10, "{area:?}");
        assert!(area.width > 0 && area.height > 0, "{area:?}");
        assert_eq!(picture, picture.clone());
    }

    #[test]
    fn hostile_bytes_are_refused_with_a_reason_never_a_panic() {
        for bytes in [
            Vec::new(),
            b"not a picture at all".to_vec(),
            png(64, 48)[..60].to_vec(),
            png_header(3, 3),
        ] {
            let e = decode(&bytes).expect_err("refused");
            assert!(matches!(e, PictureError::Unreadable(_)), "{e:?}");
        }
        // A header claiming 100,000 × 100,000 pixels is refused before any allocation.
        let e = decode(&png_header(100_000, 100_000)).expect_err("refused");
        assert!(matches!(e, PictureError::TooLarge(_)), "{e:?}");
        assert!(e.to_string().starts_with("the picture is too large"), "{e}");
    }
}
