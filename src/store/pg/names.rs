//! Names on PostgreSQL (PROTOCOL.md §8.1), with the SQLite store's access rules (see
//! [`crate::store::Store::group_details`]).

use std::collections::HashMap;

use super::{PgError, PgStore};
use crate::protocol::ChatType;
use crate::protocol::names::GroupDetails;
use crate::store::names::MAX_USERS;
use crate::store::schema::{conference_key, kind_from_sql};
use crate::store::{StoreError, check_id};

impl PgStore {
    /// The nicknames of those of `users` who have one, by lowercase id; malformed ids are
    /// left out.
    pub async fn nicknames(&self, users: &[String]) -> Result<HashMap<String, String>, PgError> {
        let ids: Vec<String> = users.iter().filter_map(|u| check_id(u).ok()).collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT name, nickname FROM user_names WHERE name = ANY($1)")
            .await?;
        let mut out = HashMap::new();
        for r in client.query(&stmt, &[&ids]).await? {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
        Ok(out)
    }

    /// The details of the groups `reader` may read (all of them for an app: `None`), in
    /// the order asked, each once.
    pub async fn group_details(
        &self,
        reader: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<GroupDetails>, StoreError> {
        let reader = match reader.map(check_id) {
            Some(Err(_)) => return Ok(Vec::new()),
            Some(Ok(user)) => Some(user),
            None => None,
        };
        let mut out: Vec<GroupDetails> = Vec::new();
        for id in ids {
            let Ok(id) = check_id(id) else {
                continue;
            };
            if out.iter().any(|d| d.id == id) {
                continue;
            }
            let Some((conv, details)) = self.details(&id, ChatType::Group).await? else {
                continue;
            };
            let readable = match &reader {
                None => true,
                Some(user) => {
                    let client = self.client().await?;
                    let stmt = client
                        .prepare_cached(
                            "SELECT 1 FROM user_convs WHERE \"user\" = $1 AND conv = $2",
                        )
                        .await
                        .map_err(PgError::from)?;
                    client
                        .query_opt(&stmt, &[user, &conv])
                        .await
                        .map_err(PgError::from)?
                        .is_some()
                }
            };
            if readable {
                out.push(GroupDetails {
                    public: Some(false),
                    avatar: Some(String::new()),
                    ..details
                });
            }
        }
        Ok(out)
    }

    /// The details of a chat room, when there is one by that id.
    pub async fn room_details(&self, id: &str) -> Result<Option<GroupDetails>, StoreError> {
        let Ok(id) = check_id(id) else {
            return Ok(None);
        };
        Ok(self.details(&id, ChatType::Room).await?.map(|(_, d)| d))
    }

    /// A group's or room's conversation id and details, when it exists and is of `kind`.
    async fn details(
        &self,
        id: &str,
        kind: ChatType,
    ) -> Result<Option<(i64, GroupDetails)>, PgError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT c.id, c.kind, n.name, n.description, n.owner, n.created,
                        (SELECT count(*) FROM user_convs uc WHERE uc.conv = c.id)
                 FROM convs c LEFT JOIN conv_names n ON n.conv = c.id
                 WHERE c.key = $1",
            )
            .await?;
        let Some(r) = client.query_opt(&stmt, &[&conference_key(id)]).await? else {
            return Ok(None);
        };
        let found: i16 = r.try_get(1)?;
        if kind_from_sql(i64::from(found)) != kind {
            return Ok(None);
        }
        let members: i64 = r.try_get(6)?;
        Ok(Some((
            r.try_get(0)?,
            GroupDetails {
                id: id.to_string(),
                name: r.try_get::<_, Option<String>>(2)?.unwrap_or_default(),
                description: r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                owner: r.try_get::<_, Option<String>>(4)?.unwrap_or_default(),
                created: r.try_get::<_, Option<i64>>(5)?.unwrap_or_default(),
                affiliations_count: u64::try_from(members).unwrap_or(0),
                maxusers: MAX_USERS,
                public: None,
                custom: String::new(),
                avatar: None,
            },
        )))
    }
}
