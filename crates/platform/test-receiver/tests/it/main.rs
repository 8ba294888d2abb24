//! The receiver against a raw TCP client: what it records, what it answers,
//! and that dropping it ends the connections it holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hub_platform_test_receiver::{Receiver, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `parts` one write each (a request split across packets), then
/// reads the whole answer.
async fn exchange(receiver: &Receiver, parts: &[&[u8]]) -> String {
    let mut stream = TcpStream::connect(receiver.addr).await.unwrap();
    for part in parts {
        stream.write_all(part).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_request_split_across_writes_is_recorded_whole_and_answered() {
    let receiver = Receiver::start(|request| {
        Reply::status(202)
            .header("x-seen", &request.path)
            .body(request.body.clone())
    })
    .await;
    let answer = exchange(
        &receiver,
        &[
            b"POST /hooks?x=1 HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\n",
            b"Content-Length: 13\r\n\r\n{\"event\":",
            b"\"1\"}",
        ],
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 202 "), "{answer}");
    assert!(answer.contains("x-seen: /hooks?x=1\r\n"), "{answer}");
    assert!(answer.contains("content-length: 13\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n{\"event\":\"1\"}"), "{answer}");

    let requests = receiver.wait_for(1).await;
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks?x=1");
    assert_eq!(request.header("CONTENT-TYPE"), Some("application/json"));
    assert_eq!(request.header("host"), Some("a.test"));
    assert_eq!(request.json(), serde_json::json!({"event": "1"}));
    assert_eq!(receiver.connections(), 1);
    assert_eq!(
        receiver.url("/x"),
        format!("http://127.0.0.1:{}/x", receiver.port())
    );
}

#[tokio::test]
async fn a_connection_without_a_request_is_counted_but_not_recorded() {
    let receiver = Receiver::ok().await;
    drop(TcpStream::connect(receiver.addr).await.unwrap());
    let answer = exchange(&receiver, &[b"GET / HTTP/1.1\r\n\r\n"]).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    assert_eq!(receiver.connections(), 2);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_receiver_ends_a_hanging_answer() {
    let receiver = Receiver::start(|_| Reply::status(200).delayed(Duration::from_secs(600))).await;
    let mut stream = TcpStream::connect(receiver.addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    receiver.wait_for(1).await;
    drop(receiver);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("the connection was closed with the receiver");
    // Closed without an answer: end of stream or a reset.
    assert!(read.is_err() || rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn a_receiver_listens_where_it_is_told() {
    let first = Receiver::ok().await;
    let other: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let second = Receiver::ok_at((other, first.port())).await;
    assert_eq!(second.addr, (other, first.port()).into());
    let answer = exchange(&second, &[b"GET / HTTP/1.1\r\n\r\n"]).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!((first.connections(), second.connections()), (0, 1));
}
