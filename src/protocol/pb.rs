//! The service's protobuf messages (PROTOCOL.md §5), written by hand from the field numbers
//! with prost's derive macros, so building roam needs no `protoc`.
//!
//! proto2 semantics: every scalar is `Option`, because presence matters (a `subType` of 0
//! that is present turns a text into a combined message).

/// A Jabber-style address: `appKey`, `name` (the user or group id), `domain`, `clientResource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Jid {
    /// `org#app`.
    #[prost(string, optional, tag = "1")]
    pub app_key: Option<String>,
    /// The user, group or room id.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// `easemob.com` or `conference.easemob.com`.
    #[prost(string, optional, tag = "3")]
    pub domain: Option<String>,
    /// The sending device, e.g. `webim_1716999999999`.
    #[prost(string, optional, tag = "4")]
    pub client_resource: Option<String>,
}

/// One typed key/value pair of `ext`, `params` or `customExts`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// The key.
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    /// How to read the value: a [`key_value::ValueType`].
    #[prost(enumeration = "key_value::ValueType", optional, tag = "2")]
    pub r#type: Option<i32>,
    /// The value itself.
    #[prost(oneof = "key_value::Value", tags = "3, 4, 5, 6")]
    pub value: Option<key_value::Value>,
}

/// Nested types of [`KeyValue`].
pub mod key_value {
    /// How a [`super::KeyValue`]'s value is to be read.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum ValueType {
        /// `varintValue != 0`.
        Bool = 1,
        /// `varintValue` as a 32-bit integer.
        Int = 2,
        /// `varintValue` as an unsigned integer.
        Uint = 3,
        /// `varintValue` as a 64-bit integer.
        Llint = 4,
        /// `floatValue`.
        Float = 5,
        /// `doubleValue`.
        Double = 6,
        /// `stringValue`.
        String = 7,
        /// `stringValue` holding JSON text.
        JsonString = 8,
    }

    /// The value of a [`super::KeyValue`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// Booleans and integers.
        #[prost(int64, tag = "3")]
        VarintValue(i64),
        /// Single-precision numbers.
        #[prost(float, tag = "4")]
        FloatValue(f32),
        /// Double-precision numbers.
        #[prost(double, tag = "5")]
        DoubleValue(f64),
        /// Strings and JSON text.
        #[prost(string, tag = "6")]
        StringValue(String),
    }
}

/// The envelope of one history entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Meta {
    /// The message id (unsigned 64-bit, larger than 2^53).
    #[prost(uint64, optional, tag = "1")]
    pub id: Option<u64>,
    /// Sender address (the SDK reads the body's instead).
    #[prost(message, optional, tag = "2")]
    pub from: Option<Jid>,
    /// Receiver address.
    #[prost(message, optional, tag = "3")]
    pub to: Option<Jid>,
    /// Milliseconds since the epoch.
    #[prost(uint64, optional, tag = "4")]
    pub timestamp: Option<u64>,
    /// A [`meta::NameSpace`]; only `CHAT` entries are messages.
    #[prost(enumeration = "meta::NameSpace", optional, tag = "5")]
    pub ns: Option<i32>,
    /// A [`MessageBody`] when `ns == CHAT`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub payload: Option<Vec<u8>>,
    /// Routing hint.
    #[prost(int32, optional, tag = "7")]
    pub routetype: Option<i32>,
    /// Envelope extensions.
    #[prost(message, repeated, tag = "8")]
    pub ext: Vec<KeyValue>,
    /// JSON bytes; must hold no byte below 0x10 when set.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub meta: Option<Vec<u8>>,
    /// Targeted delivery within a group.
    #[prost(string, repeated, tag = "10")]
    pub directed_users: Vec<String>,
}

/// Nested types of [`Meta`].
pub mod meta {
    /// Which subsystem an entry belongs to.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum NameSpace {
        /// Statistics.
        Statistic = 0,
        /// Chat messages: the only namespace that holds history.
        Chat = 1,
        /// Multi-user chat events.
        Muc = 2,
        /// Contact list events.
        Roster = 3,
        /// Conference events.
        Conference = 4,
        /// Notifications.
        Notify = 5,
        /// Queries.
        Query = 6,
    }
}

/// A chat message or event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageBody {
    /// A [`message_body::Type`].
    #[prost(enumeration = "message_body::Type", optional, tag = "1")]
    pub r#type: Option<i32>,
    /// The sender; its `name` is the message's `from`.
    #[prost(message, optional, tag = "2")]
    pub from: Option<Jid>,
    /// The receiver; its `name` is the message's `to`.
    #[prost(message, optional, tag = "3")]
    pub to: Option<Jid>,
    /// The contents; only the first counts.
    #[prost(message, repeated, tag = "4")]
    pub contents: Vec<message_body::Content>,
    /// The message's `ext`.
    #[prost(message, repeated, tag = "5")]
    pub ext: Vec<KeyValue>,
    /// The acknowledged message of an ack event.
    #[prost(uint64, optional, tag = "6")]
    pub ack_message_id: Option<u64>,
    /// Text of an ack event.
    #[prost(string, optional, tag = "8")]
    pub ack_content: Option<String>,
    /// JSON: reactions, translations, edits, threads.
    #[prost(string, optional, tag = "9")]
    pub meta: Option<String>,
    /// The edited message of an edit event.
    #[prost(uint64, optional, tag = "11")]
    pub edit_message_id: Option<u64>,
}

/// Nested types of [`MessageBody`].
pub mod message_body {
    /// What a [`super::MessageBody`] is: a message of a chat type, or an event.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Type {
        /// Unspecified.
        Normal = 0,
        /// A single-chat message.
        Chat = 1,
        /// A group message.
        Groupchat = 2,
        /// A chat-room message.
        Chatroom = 3,
        /// Read receipt (event).
        ReadAck = 4,
        /// Delivery receipt (event).
        DeliverAck = 5,
        /// Recall (event).
        Recall = 6,
        /// Conversation read (event).
        ChannelAck = 7,
        /// Edit (event).
        Edit = 8,
    }

    /// One content item of a message.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Content {
        /// A [`content::Type`].
        #[prost(enumeration = "content::Type", optional, tag = "1")]
        pub r#type: Option<i32>,
        /// Text, or a combined message's fallback text.
        #[prost(string, optional, tag = "2")]
        pub text: Option<String>,
        /// Location latitude.
        #[prost(double, optional, tag = "3")]
        pub latitude: Option<f64>,
        /// Location longitude.
        #[prost(double, optional, tag = "4")]
        pub longitude: Option<f64>,
        /// Location address.
        #[prost(string, optional, tag = "5")]
        pub address: Option<String>,
        /// Attachment file name.
        #[prost(string, optional, tag = "6")]
        pub display_name: Option<String>,
        /// Attachment URL.
        #[prost(string, optional, tag = "7")]
        pub remote_path: Option<String>,
        /// Attachment share secret.
        #[prost(string, optional, tag = "8")]
        pub secret_key: Option<String>,
        /// Attachment size in bytes.
        #[prost(int32, optional, tag = "9")]
        pub file_length: Option<i32>,
        /// Command action.
        #[prost(string, optional, tag = "10")]
        pub action: Option<String>,
        /// Command parameters.
        #[prost(message, repeated, tag = "11")]
        pub params: Vec<super::KeyValue>,
        /// Voice or video length in seconds.
        #[prost(int32, optional, tag = "12")]
        pub duration: Option<i32>,
        /// Image or video dimensions.
        #[prost(message, optional, tag = "13")]
        pub size: Option<content::Size>,
        /// Video thumbnail URL.
        #[prost(string, optional, tag = "14")]
        pub thumbnail_remote_path: Option<String>,
        /// Video thumbnail secret.
        #[prost(string, optional, tag = "15")]
        pub thumbnail_secret_key: Option<String>,
        /// Video thumbnail file name.
        #[prost(string, optional, tag = "16")]
        pub thumbnail_display_name: Option<String>,
        /// Video thumbnail size in bytes.
        #[prost(int32, optional, tag = "17")]
        pub thumbnail_file_length: Option<i32>,
        /// Video thumbnail dimensions.
        #[prost(message, optional, tag = "18")]
        pub thumbnail_size: Option<content::Size>,
        /// Custom message event name.
        #[prost(string, optional, tag = "19")]
        pub custom_event: Option<String>,
        /// Custom message fields.
        #[prost(message, repeated, tag = "20")]
        pub custom_exts: Vec<super::KeyValue>,
        /// Location building name.
        #[prost(string, optional, tag = "21")]
        pub building_name: Option<String>,
        /// A [`content::SubType`]; presence matters.
        #[prost(enumeration = "content::SubType", optional, tag = "22")]
        pub sub_type: Option<i32>,
        /// Combined message title.
        #[prost(string, optional, tag = "23")]
        pub title: Option<String>,
        /// Combined message summary.
        #[prost(string, optional, tag = "24")]
        pub summary: Option<String>,
        /// Combined message nesting level.
        #[prost(int32, optional, tag = "25")]
        pub combine_level: Option<i32>,
    }

    /// Nested types of [`Content`].
    pub mod content {
        /// The kind of a content item.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
        #[repr(i32)]
        pub enum Type {
            /// Text (or combined, with `subType` present and 0).
            Text = 0,
            /// Image.
            Image = 1,
            /// Video.
            Video = 2,
            /// Location.
            Location = 3,
            /// Voice.
            Voice = 4,
            /// File.
            File = 5,
            /// Command.
            Command = 6,
            /// Custom.
            Custom = 7,
            /// Combined (merged forward).
            Combine = 8,
        }

        /// Refines a content type.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
        #[repr(i32)]
        pub enum SubType {
            /// On a text: a combined message.
            Combine = 0,
            /// On an image: a GIF.
            Gif = 1,
            /// Streamed text.
            SubStream = 10,
        }

        /// Width and height in pixels.
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct Size {
            /// Width.
            #[prost(double, optional, tag = "1")]
            pub width: Option<f64>,
            /// Height.
            #[prost(double, optional, tag = "2")]
            pub height: Option<f64>,
        }
    }
}
