// wp_axis_reg: a full-rate register slice (skid buffer) for one AXI4-Stream-like channel.
//
// m_data/m_valid come from registers and s_ready is a register, so no combinational path runs
// through the slice in either direction; with m_ready held high it passes one beat per cycle
// (one cycle of latency). When the output stalls, the beat accepted in that cycle waits in the
// skid register and s_ready drops for the next cycle. The skid register's data loads s_data in
// every cycle it is empty (the data of an empty skid is never read), so its enable is the one
// flip-flop skid_valid_reg and not s_valid / m_ready: in wp_axis_arb, s_valid is the granted
// input's valid from another block, and the skid's 417 enables behind it were the waypoint's
// slowest ECP5 path at d05bac9 (121.8 MHz, 86 % routing).
// s_ready is a flip-flop of its own, s_ready_reg (= !skid_valid_reg, kept so that yosys does
// not merge it back): skid_valid_reg selects and enables all 2 x WIDTH data flip-flops, so as
// s_ready it reached the producer's logic on a net of several hundred loads (wp_waypoint's
// nat input slice -> the dispatch FIFO's pop was its slowest ECP5 path at db94256, that net
// alone 2.5 ns of 8.18).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_axis_reg #(
    // Width of the payload (tdata, tkeep, tuser, tlast, ... concatenated)
    parameter WIDTH = 8,
    // the data registers in this many slices, each enabled and selected from its own copies of
    // m_valid_reg and skid_valid_reg (kept from merging): m_ready then reaches SLICES enable
    // LUTs, each driving WIDTH / SLICES flip-flops, not one net to 2 x WIDTH (a consumer's
    // full flag -> this slice's data enables, one 3.74 ns net, was wp_waypoint's ECP5 path
    // at f3c1b90: nat's input slice). 1 = one enable, as the ceiling of bench/hdl_fmax.py.
    parameter SLICES = 1
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready
);

initial begin
    if (SLICES < 1 || SLICES > WIDTH) begin
        $error("Error: SLICES must be in 1..WIDTH (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0] m_data_reg = {WIDTH{1'b0}};
reg             m_valid_reg = 1'b0;
reg [WIDTH-1:0] skid_data_reg = {WIDTH{1'b0}};
reg             skid_valid_reg = 1'b0;
reg             s_ready_reg = 1'b1;  // = !skid_valid_reg

assign s_ready = s_ready_reg;
assign m_data = m_data_reg;
assign m_valid = m_valid_reg;

always @(posedge clk) begin
    if (m_ready || !m_valid_reg) begin
        // the output register is free (or being read): refill it, the skid beat first
        if (skid_valid_reg) begin
            m_valid_reg <= 1'b1;
            skid_valid_reg <= 1'b0;
        end else begin
            m_valid_reg <= s_valid;
        end
    end else if (s_valid && !skid_valid_reg) begin
        // output stalled: keep the beat accepted this cycle
        skid_valid_reg <= 1'b1;
    end
    if (rst) begin
        m_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

// the data registers, as the control above moves the beats
genvar gs;
generate
    if (SLICES == 1) begin : g_data
        always @(posedge clk) begin
            if (m_ready || !m_valid_reg) m_data_reg <= skid_valid_reg ? skid_data_reg : s_data;
            if (!skid_valid_reg) skid_data_reg <= s_data;
        end
    end else begin : g_data_slices
        localparam SLICE_W = (WIDTH + SLICES - 1) / SLICES;
        for (gs = 0; gs < SLICES; gs = gs + 1) begin : g_slice
            localparam LO = gs * SLICE_W;
            localparam W = WIDTH - LO < SLICE_W ? WIDTH - LO : SLICE_W;
            // copies of m_valid_reg and skid_valid_reg (the same next state)
            reg mv_reg = 1'b0;
            reg sv_reg = 1'b0;
            (* keep *)
            always @(posedge clk) begin
                if (m_ready || !mv_reg) begin
                    mv_reg <= sv_reg || s_valid;
                    sv_reg <= 1'b0;
                end else if (s_valid && !sv_reg) begin
                    sv_reg <= 1'b1;
                end
                if (rst) begin
                    mv_reg <= 1'b0;
                    sv_reg <= 1'b0;
                end
            end
            always @(posedge clk) begin
                if (m_ready || !mv_reg)
                    m_data_reg[LO +: W] <= sv_reg ? skid_data_reg[LO +: W] : s_data[LO +: W];
                if (!sv_reg) skid_data_reg[LO +: W] <= s_data[LO +: W];
            end
`ifdef FORMAL
            always @(*) assert (mv_reg == m_valid_reg && sv_reg == skid_valid_reg);
`endif
        end
    end
endgenerate

// skid_valid_reg's next state, inverted (keep: an identical flip-flop yosys would merge)
(* keep *)
always @(posedge clk) begin
    if (m_ready || !m_valid_reg) s_ready_reg <= 1'b1;
    else if (s_valid && s_ready_reg) s_ready_reg <= 1'b0;
    if (rst) s_ready_reg <= 1'b1;
end

`ifdef FORMAL
always @(*) assert (s_ready_reg == !skid_valid_reg);
`endif

endmodule

`resetall
