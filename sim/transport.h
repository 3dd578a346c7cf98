/*
 * transport.h - the simulated transport: packets on per-connection FIFO
 * channels with the scenario's uplink and downlink latency.
 *
 * A packet is a frame (sim/frame.h) in flight on one channel of one link.
 * A link is one connection's pair of channels (sim/net.h): a WebSocket
 * rides on TCP, so packets of one direction never overtake each other, and
 * delays on different links are independent.  A drop bumps a channel's
 * epoch: packets stamped with an older epoch are lost (the receiver checks
 * sim_transport_current on arrival).  Each tab also has an HTTP channel for
 * messages posted over HTTP (no link, no epoch).
 *
 * The transport computes arrival times; it never schedules: its host (the
 * world, or a driver injecting latency in front of a real socket) queues
 * the arrival.  Packets live in one pool with a free list, so a run's
 * memory is bounded by what is in flight at once.  Latencies draw from the
 * stream the caller passes (the sending tab's `net`, sim/streams.h).
 */
#ifndef SIM_TRANSPORT_H
#define SIM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/dist.h"
#include "sim/frame.h"
#include "sim/net.h"
#include "sim/prng.h"

#define SIM_NO_PACKET UINT32_MAX

typedef enum sim_dir { SIM_UP = 0, SIM_DOWN = 1 } sim_dir;

typedef struct sim_packet {
    sim_frame f;
    uint32_t link;  /* the link it was sent on (0 for an HTTP post) */
    uint32_t epoch; /* its channel's epoch when sent */
    uint32_t next;  /* the free list; while allocated, the host's (a queue of held packets) */
} sim_packet;

typedef struct sim_link {
    sim_channel ch[2]; /* [SIM_UP], [SIM_DOWN] */
} sim_link;

typedef struct sim_transport {
    const sim_dist *latency[2]; /* [SIM_UP] uplink, [SIM_DOWN] downlink (borrowed) */
    sim_packet *pkts;           /* the pool (owned) */
    size_t npkts, cappkts;
    uint32_t free;   /* head of the free list, SIM_NO_PACKET none */
    sim_link *links; /* owned */
    size_t nlinks, caplinks;
    sim_channel *http; /* per tab (owned) */
    uint32_t ntabs;
} sim_transport;

/* sim_transport_init prepares *t for `ntabs` tabs with the given latency
 * distributions (borrowed: they must outlive *t).  Returns 0, or -1 on
 * allocation failure (*t is then safe to sim_transport_free). */
int sim_transport_init(sim_transport *t, const sim_dist *uplink, const sim_dist *downlink,
                       uint32_t ntabs);

/* sim_transport_free releases what *t holds (packets in flight included). */
void sim_transport_free(sim_transport *t);

/* sim_transport_link_new adds a link (a new connection's two fresh
 * channels) and sets *id to its index: links are numbered 0, 1, ... in
 * creation order.  Returns 0 or -1 (allocation).  Amortised O(1). */
int sim_transport_link_new(sim_transport *t, uint32_t *id);

/* sim_transport_packet_new takes a packet from the pool carrying a copy of
 * *f (zeroed when f is NULL).  Returns its index, or SIM_NO_PACKET on
 * allocation failure.  Amortised O(1). */
uint32_t sim_transport_packet_new(sim_transport *t, const sim_frame *f);

/* sim_transport_packet returns packet p (valid until the pool grows: take
 * a copy before allocating another). */
sim_packet *sim_transport_packet(sim_transport *t, uint32_t p);

/* sim_transport_packet_free returns packet p to the pool.  O(1). */
void sim_transport_packet_free(sim_transport *t, uint32_t p);

/* sim_transport_send puts packet p on direction `dir` of link `link` at
 * `now` (stamping its link and epoch) and returns its arrival time: now
 * plus a latency drawn from `rng`, strictly after the channel's previous
 * arrival.  O(1). */
uint64_t sim_transport_send(sim_transport *t, uint32_t link, sim_dir dir, uint32_t p, uint64_t now,
                            sim_prng *rng);

/* sim_transport_send_signal is sim_transport_send for something that is
 * not a packet but travels the channel behind its packets (a clean close:
 * the close frame, then FIN): its arrival time.  O(1). */
uint64_t sim_transport_send_signal(sim_transport *t, uint32_t link, sim_dir dir, uint64_t now,
                                   sim_prng *rng);

/* sim_transport_post sends an HTTP post (a SIM_FRAME_HTTP packet: no
 * link, no epoch) on tab's HTTP channel (FIFO, uplink latency) and returns
 * its arrival time.  O(1). */
uint64_t sim_transport_post(sim_transport *t, uint32_t tab, uint64_t now, sim_prng *rng);

/* sim_transport_latency draws one latency of direction `dir` from `rng`
 * without sending anything (how long the far end takes to notice a dead
 * transport).  O(1). */
uint64_t sim_transport_latency(const sim_transport *t, sim_dir dir, sim_prng *rng);

/* sim_transport_drop loses what is in flight on direction `dir` of `link`
 * (bumps its epoch).  O(1). */
void sim_transport_drop(sim_transport *t, uint32_t link, sim_dir dir);

/* sim_transport_current says whether packet *pk, arriving on direction
 * `dir`, survived: 1 if its channel was not dropped since it was sent.
 * O(1). */
int sim_transport_current(const sim_transport *t, const sim_packet *pk, sim_dir dir);

#endif
