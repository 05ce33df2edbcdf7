//! Pictures for the details panel, in the fetch task: the bytes from the source, then
//! decoding and encoding on a blocking thread (they cost milliseconds to seconds and must
//! never hold up the UI or the other requests). The last decoded picture is kept, so a
//! resize (which asks for the same picture in another box) only encodes again.

use std::sync::{Arc, Mutex};

use image::DynamicImage;
use ratatui_image::picker::Picker;

use super::Source;
use crate::protocol::Attachment;
use crate::tui::picture::{self, Picture};

/// A picture decoded: its file, whether it is the thumbnail, the pixels.
type Decoded = (Attachment, bool, Arc<DynamicImage>);

/// The picker and the last picture decoded, shared by the requests.
#[derive(Clone)]
pub(super) struct Pictures {
    picker: Arc<Picker>,
    last: Arc<Mutex<Option<Decoded>>>,
}

impl Pictures {
    pub(super) fn new(picker: Picker) -> Pictures {
        Pictures {
            picker: Arc::new(picker),
            last: Arc::default(),
        }
    }

    /// The decoded picture of `file` when it is the last one decoded.
    fn remembered(&self, file: &Attachment, thumbnail: bool) -> Option<Arc<DynamicImage>> {
        let last = self.last.lock().ok()?;
        last.as_ref()
            .filter(|(f, t, _)| f == file && *t == thumbnail)
            .map(|(_, _, image)| Arc::clone(image))
    }

    /// `file`'s picture encoded to fit `fits`, or why not, in the person's words.
    pub(super) async fn show<S: Source>(
        &self,
        source: &S,
        file: Attachment,
        thumbnail: bool,
        fits: (u16, u16),
    ) -> Result<Picture, String> {
        let image = match self.remembered(&file, thumbnail) {
            Some(image) => image,
            None => {
                let bytes = source
                    .picture(file.clone(), thumbnail)
                    .await
                    .map_err(|e| e.description)?;
                let image = tokio::task::spawn_blocking(move || picture::decode(&bytes))
                    .await
                    .map_err(|e| format!("the picture could not be decoded: {e}"))?
                    .map_err(|e| e.to_string())?;
                let image = Arc::new(image);
                if let Ok(mut last) = self.last.lock() {
                    *last = Some((file, thumbnail, Arc::clone(&image)));
                }
                image
            }
        };
        let picker = Arc::clone(&self.picker);
        tokio::task::spawn_blocking(move || picture::encode(&picker, &image, fits))
            .await
            .map_err(|e| format!("the picture could not be drawn: {e}"))?
            .map_err(|e| e.to_string())
    }
}
