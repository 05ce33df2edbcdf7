//! Syncing the open conversation from the browser (`s`): the state machine asks the fetch
//! task, shows progress in the status line, stops on Esc and says how it ended.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::tz::TimeZone;
use roam::protocol::ChatType;
use roam::tui::app::{App, ConversationKey, Effect, Event, FetchRequest};
use roam::tui::event::{SyncEnd, SyncProgress};

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn team() -> ConversationKey {
    ConversationKey {
        id: "team".into(),
        kind: ChatType::Group,
    }
}

/// An app with group `team` open (by the go-to prompt; no page answered).
fn team_open() -> App {
    let mut app = App::new(120, 40, TimeZone::UTC);
    app.start();
    app.update(key(KeyCode::Char(':')));
    for c in "#team".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    assert_eq!(app.open_conversation(), Some(&team()));
    app
}

fn sync_request(fx: &[Effect]) -> Option<(u64, ConversationKey)> {
    fx.iter().find_map(|e| match e {
        Effect::Fetch(FetchRequest::Sync {
            request_id,
            conversation,
        }) => Some((*request_id, conversation.clone())),
        _ => None,
    })
}

fn progress(messages: u64, ended: Option<SyncEnd>) -> SyncProgress {
    SyncProgress {
        pages: messages / 50,
        messages,
        oldest: Some(1_700_000_000_000),
        ended,
    }
}

#[test]
fn s_syncs_the_open_conversation_with_progress_and_a_closing_note() {
    let mut app = team_open();
    let fx = app.update(key(KeyCode::Char('s')));
    let (id, conversation) = sync_request(&fx).expect("a sync is asked for");
    assert_eq!(conversation, team());
    assert!(app.sync_running());
    // Pressed again: one sync at a time.
    let again = app.update(key(KeyCode::Char('s')));
    assert!(sync_request(&again).is_none());
    assert!(
        app.status_line().contains("already syncing"),
        "{}",
        app.status_line()
    );
    // Progress of another request changes nothing.
    app.update(Event::Sync {
        request_id: id + 100,
        progress: progress(999, None),
    });
    app.update(Event::Sync {
        request_id: id,
        progress: progress(1_500, None),
    });
    let status = app.status_line();
    assert!(
        status.contains("syncing team… 1,500 messages, back to 2023-11-14"),
        "{status}"
    );
    assert!(status.contains("Esc stops"), "{status}");
    app.update(Event::Sync {
        request_id: id,
        progress: progress(2_000, Some(SyncEnd::Beginning)),
    });
    assert!(!app.sync_running());
    let status = app.status_line();
    assert!(
        status.contains("team is in the library to its beginning: 2,000 messages"),
        "{status}"
    );
}

#[test]
fn esc_stops_a_sync_and_a_failure_is_said() {
    let mut app = team_open();
    let (id, _) = sync_request(&app.update(key(KeyCode::Char('s')))).expect("a sync");
    app.update(Event::Sync {
        request_id: id,
        progress: progress(100, None),
    });
    let fx = app.update(key(KeyCode::Esc));
    assert!(
        fx.contains(&Effect::Fetch(FetchRequest::StopSync { request_id: id })),
        "{fx:?}"
    );
    assert!(!app.sync_running());
    assert!(
        app.status_line().contains("stopped after 100 messages"),
        "{}",
        app.status_line()
    );
    // Its last words arriving after the stop are ignored.
    app.update(Event::Sync {
        request_id: id,
        progress: progress(150, Some(SyncEnd::Beginning)),
    });
    assert!(
        !app.status_line().contains("beginning"),
        "{}",
        app.status_line()
    );

    let (id, _) = sync_request(&app.update(key(KeyCode::Char('s')))).expect("a sync");
    app.update(Event::Sync {
        request_id: id,
        progress: progress(50, Some(SyncEnd::Failed("HTTP 503".into()))),
    });
    assert!(
        app.status_line().contains("sync of team stopped: HTTP 503"),
        "{}",
        app.status_line()
    );
}
