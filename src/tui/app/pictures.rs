//! The picture in the details panel of an image message (or a video's thumbnail): asked
//! of the fetch task when the panel opens, to fit the top of the panel, and asked again
//! when a resize changes that box. Until it arrives, and when it cannot be had, the box
//! holds one line saying so.

use super::{App, Effect, FetchRequest};
use crate::protocol::{Attachment, Content, Message};
use crate::tui::panel::{self, PanelKind};
use crate::tui::picture::{MAX_PICTURE_BYTES, Picture};

/// Where the panel's picture is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PictureState {
    /// Asked for.
    Loading,
    /// Here, encoded for the box it was asked for.
    Shown(Picture),
    /// Cannot be shown: why, in the person's words.
    Failed(String),
}

/// The picture of the message whose details are open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PictureSlot {
    request_id: u64,
    message: u64,
    file: Attachment,
    thumbnail: bool,
    fits: (u16, u16),
    state: PictureState,
}

/// The file to show for `msg`, and whether to ask for the server's thumbnail of it: an
/// image whole unless it is too large to fetch for a preview; a video's thumbnail.
fn picture_file(msg: &Message) -> Option<(Attachment, bool)> {
    match &msg.content {
        Content::Image { file, .. } if !file.url.is_empty() => {
            let too_large = file.file_length.is_some_and(|n| n > MAX_PICTURE_BYTES);
            Some((file.clone(), too_large))
        }
        Content::Video {
            thumb: Some(thumb),
            thumb_secret,
            ..
        } if !thumb.is_empty() => Some((
            Attachment {
                url: thumb.clone(),
                secret: thumb_secret.clone(),
                filename: "thumbnail".into(),
                file_length: None,
            },
            false,
        )),
        _ => None,
    }
}

impl App {
    /// The picture of the open details panel, when its message has one.
    pub fn picture(&self) -> Option<&PictureState> {
        let slot = self.picture.as_ref()?;
        let panel = self.panel.as_ref()?;
        (panel.kind() == PanelKind::Details && panel.message() == slot.message)
            .then_some(&slot.state)
    }

    /// Pictures are shown in the details panel (a config file's `images = "off"` hides
    /// them).
    pub fn set_pictures(&mut self, on: bool) {
        self.pictures = on;
    }

    /// Asks for `msg`'s picture for the details panel just opened, when it has one and
    /// the panel has room.
    pub(super) fn ask_picture(&mut self, msg: &Message, fx: &mut Vec<Effect>) {
        self.picture = None;
        if !self.pictures {
            return;
        }
        let Some((file, thumbnail)) = picture_file(msg) else {
            return;
        };
        let Some(area) = panel::picture_area(self.width, self.height) else {
            return;
        };
        let height = self.height;
        if let Some(p) = self.panel.as_mut() {
            p.show_picture(height);
        }
        let request_id = self.next_id();
        let fits = (area.width, area.height);
        fx.push(Effect::Fetch(FetchRequest::Picture {
            request_id,
            file: file.clone(),
            thumbnail,
            fits,
        }));
        self.picture = Some(PictureSlot {
            request_id,
            message: msg.id,
            file,
            thumbnail,
            fits,
            state: PictureState::Loading,
        });
    }

    /// After a resize: asks again for a picture made for the new box.
    pub(super) fn refit_picture(&mut self, fx: &mut Vec<Effect>) {
        let area = panel::picture_area(self.width, self.height);
        let Some(slot) = self.picture.as_ref() else {
            return;
        };
        let fits = area.map(|a| (a.width, a.height));
        if fits == Some(slot.fits) || matches!(slot.state, PictureState::Failed(_)) {
            return;
        }
        let request_id = self.next_id();
        let Some(slot) = self.picture.as_mut() else {
            return;
        };
        match fits {
            Some(fits) => {
                slot.request_id = request_id;
                slot.fits = fits;
                slot.state = PictureState::Loading;
                fx.push(Effect::Fetch(FetchRequest::Picture {
                    request_id,
                    file: slot.file.clone(),
                    thumbnail: slot.thumbnail,
                    fits,
                }));
            }
            // No room now: nothing is drawn; a larger screen asks again.
            None => {
                slot.fits = (0, 0);
                slot.state = PictureState::Loading;
            }
        }
    }

    /// The fetch task's answer.
    pub(super) fn on_picture(&mut self, request_id: u64, result: Result<Picture, String>) {
        if let Some(slot) = self.picture.as_mut().filter(|s| s.request_id == request_id) {
            slot.state = match result {
                Ok(picture) => PictureState::Shown(picture),
                Err(why) => PictureState::Failed(why),
            };
        }
    }
}
