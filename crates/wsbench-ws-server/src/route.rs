//! The job a connection does, chosen by its request path.

/// What a raw-WebSocket connection does with the messages it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: relay to every other client of `/`.
    Broadcast,
    /// `/room/NAME`: relay to every other client of the same room.
    Room(String),
    /// `/echo`: send back to the sender.
    Echo,
}

impl Route {
    /// Maps a request target (query string ignored) to its route, or `None` for a path the
    /// server does not serve. The target may be in absolute form (`http://host/echo`),
    /// which a server must accept (RFC 9112 §3.2.2).
    pub fn from_path(target: &str) -> Option<Route> {
        let path = absolute_form_path(target).unwrap_or(target);
        let path = path.split('?').next().unwrap_or_default();
        match path {
            "" | "/" => Some(Route::Broadcast),
            "/echo" | "/echo/" => Some(Route::Echo),
            _ => {
                let name = path.strip_prefix("/room/")?.trim_end_matches('/');
                (!name.is_empty() && !name.contains('/')).then(|| Route::Room(name.to_owned()))
            }
        }
    }
}

/// The path of an absolute-form target (`ws://`, `http://` and their secure forms), or
/// `None` for a target in origin form.
fn absolute_form_path(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let known = ["http", "https", "ws", "wss"];
    if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
        return None;
    }
    Some(rest.find(['/', '?']).map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes() {
        assert_eq!(Route::from_path("/"), Some(Route::Broadcast));
        assert_eq!(Route::from_path("/?x=1"), Some(Route::Broadcast));
        assert_eq!(Route::from_path("/echo"), Some(Route::Echo));
        assert_eq!(Route::from_path("/room/a"), Some(Route::Room("a".into())));
        assert_eq!(Route::from_path("/room/a/"), Some(Route::Room("a".into())));
        assert_eq!(Route::from_path("/room/"), None);
        assert_eq!(Route::from_path("/room/a/b"), None);
        assert_eq!(Route::from_path("/other"), None);
        assert_eq!(Route::from_path("http://h:1/echo"), Some(Route::Echo));
        assert_eq!(Route::from_path("http://h:1"), Some(Route::Broadcast));
        assert_eq!(
            Route::from_path("HTTP://h/room/a?x"),
            Some(Route::Room("a".into()))
        );
        assert_eq!(Route::from_path("ftp://h/echo"), None);
    }
}
