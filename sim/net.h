/*
 * net.h - the simulated network: one FIFO channel per direction of each
 * connection.  A WebSocket rides on TCP, so packets on one channel never
 * overtake each other; delays on different channels are independent.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <stdint.h>

typedef struct sim_channel {
    uint64_t last_arrival; /* arrival time of the latest packet sent */
    uint32_t epoch;        /* bumped when the connection drops */
} sim_channel;

/* sim_channel_send returns the arrival time of a packet sent at `now` with
 * sampled one-way `delay`: strictly after the previous packet's arrival
 * (FIFO, 1 ns apart when a delay would overtake), so the order holds even
 * when exploration reorders simultaneous events.  O(1). */
uint64_t sim_channel_send(sim_channel *ch, uint64_t now, uint64_t delay);

/* sim_channel_drop loses everything in flight: packets stamped with an older
 * epoch are discarded on arrival by the receiver.  O(1). */
void sim_channel_drop(sim_channel *ch);

#endif
