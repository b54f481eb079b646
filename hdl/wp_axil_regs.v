// wp_axil_regs: AXI4-Lite slave to a simple register interface.
//
// One transaction at a time, every path to the register block starting at a flip-flop: the
// cycle a transaction is taken (AW and W together, or AR) only registers its address (and write
// data and strobes); the register interface sees reg_rd_addr from that register, never from the
// bus, so the block's read mux is one register-to-register path of its own.
//
// Read: the cycle after AR is taken, reg_rd_en is high for one cycle with reg_rd_addr; the block
// answers combinationally on reg_rd_data (from reg_rd_addr) and may use reg_rd_en for read side
// effects (latching a counter's high word); the slave registers it and R follows.
//
// Write: writes honour the byte strobes (AXI4-Lite WSTRB) for every block behind this slave. The
// cycle after AW and W are taken, the register's current value is read through the same read
// port (reg_rd_addr = the write address, reg_rd_en low, so no read side effect) and the lanes
// whose strobe is low are kept; the next cycle presents reg_wr_en with the merged 32-bit word
// (reg_wr_strb: the original strobes, for information) and B follows. A partial write of a
// register that reads back differently from what was written (write-only or command bits)
// keeps what the read returns in the other lanes.
//
// RD_LATENCY = 1 to 5 gives the block as many more cycles: reg_rd_addr is held that long
// before the read (or merge read) is taken from reg_rd_data, so a block may register its address
// decode (which register array, which element: wp_reg_arr_q), with 2 its read mux result as well
// (wp_reg_rd with IN_REG), answering from registers, with 3 split its read mux into two
// registered levels and with 4 into three after a one-hot decode (wp_nat, wp_waypoint: per
// element, per group of elements, then the OR of the groups: wp_reg_rd_or); with 5 the one-hot
// decode itself in two (wp_fw: the address's fields one-hot, then their ANDs).
//
// Latency (bus idle, ready high): AR taken -> R valid 2 + RD_LATENCY cycles; AW/W taken ->
// reg_wr_en 2 + RD_LATENCY cycles, B valid 3 + RD_LATENCY cycles. No new transaction is taken
// while one is in the register interface.
//
// Timing: whether the slave is busy is one flip-flop (idle_reg), not an OR of the pipeline's
// state, so a take is one LUT level from flip-flops (and the bus inputs). No enable depends on
// the take: while idle, the address register loads the bus address every cycle (AW's when AW and
// W are offered together and no B is pending, else AR's: the one a take in this cycle takes) and
// the write-data and strobe registers load the bus's; the take only ends the idle state, which
// freezes them. The merged write word has a register of its own (enabled by the merge flop). So
// reg_rd_addr / reg_wr_addr / reg_wr_data change while idle; they are meaningful only from the
// cycle after a take to its reg_rd_en / reg_wr_en, as before.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_axil_regs #(
    // Width of the AXI-Lite address (byte address)
    parameter ADDR_WIDTH = 12,
    // Cycles the block's read port takes from reg_rd_addr to reg_rd_data (0 to 5)
    parameter RD_LATENCY = 0
) (
    input  wire                  clk,
    input  wire                  rst,

    input  wire [ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire [2:0]            s_axil_awprot,
    input  wire                  s_axil_awvalid,
    output wire                  s_axil_awready,
    input  wire [31:0]           s_axil_wdata,
    input  wire [3:0]            s_axil_wstrb,
    input  wire                  s_axil_wvalid,
    output wire                  s_axil_wready,
    output wire [1:0]            s_axil_bresp,
    output wire                  s_axil_bvalid,
    input  wire                  s_axil_bready,
    input  wire [ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire [2:0]            s_axil_arprot,
    input  wire                  s_axil_arvalid,
    output wire                  s_axil_arready,
    output wire [31:0]           s_axil_rdata,
    output wire [1:0]            s_axil_rresp,
    output wire                  s_axil_rvalid,
    input  wire                  s_axil_rready,

    output wire                  reg_wr_en,
    output wire [ADDR_WIDTH-1:0] reg_wr_addr,
    output wire [31:0]           reg_wr_data,
    output wire [3:0]            reg_wr_strb,
    output wire                  reg_rd_en,
    output wire [ADDR_WIDTH-1:0] reg_rd_addr,
    input  wire [31:0]           reg_rd_data
);

initial begin
    if (ADDR_WIDTH < 4 || ADDR_WIDTH > 32) begin
        $error("Error: ADDR_WIDTH must be in 4..32 (instance %m)");
        $finish;
    end
    if (RD_LATENCY < 0 || RD_LATENCY > 5) begin
        $error("Error: RD_LATENCY must be in 0..5 (instance %m)");
        $finish;
    end
end

reg bvalid_reg = 1'b0;
reg rvalid_reg = 1'b0;
reg [31:0] rdata_reg = 32'd0;
// bit i: a read / write was taken i + 1 cycles ago and the block's read port is still at work
// (RD_LATENCY > i)
reg [4:0] rd_wait_reg = 5'b00000;
reg [4:0] wr_wait_reg = 5'b00000;
reg rd_pend_reg = 1'b0;     // a read's address is in addr_reg: reg_rd_en this cycle
reg wr_merge_reg = 1'b0;    // a write's address is in addr_reg: merge read this cycle
reg wr_pend_reg = 1'b0;     // the merged word is in wr_data_reg: reg_wr_en this cycle
// no transaction in the register interface: from reset or the cycle after a reg_rd_en /
// reg_wr_en to the cycle of the next take (inclusive)
reg idle_reg = 1'b1;
reg [ADDR_WIDTH-1:0] addr_reg = 0;
reg [31:0] wr_in_reg = 32'd0;   // the bus write data, loaded while idle
reg [31:0] wr_data_reg = 32'd0; // the merged word, loaded at the merge read
reg [3:0] wr_strb_reg = 4'd0;

// AW and W offered and no B pending: a write is taken if idle (and has priority over AR)
wire wr_want = s_axil_awvalid && s_axil_wvalid && !bvalid_reg;
wire wr_take = wr_want && idle_reg;
wire rd_take = s_axil_arvalid && !rvalid_reg && !wr_want && idle_reg;
// the read port's answer is due (the cycle before reg_rd_en / the merge)
wire rd_due = RD_LATENCY == 0 ? rd_take : rd_wait_reg[RD_LATENCY == 0 ? 0 : RD_LATENCY - 1];
wire wr_due = RD_LATENCY == 0 ? wr_take : wr_wait_reg[RD_LATENCY == 0 ? 0 : RD_LATENCY - 1];

wire [31:0] wr_mask = {{8{wr_strb_reg[3]}}, {8{wr_strb_reg[2]}}, {8{wr_strb_reg[1]}},
                       {8{wr_strb_reg[0]}}};

assign s_axil_awready = wr_take;
assign s_axil_wready = wr_take;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = rd_take;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = rvalid_reg;

assign reg_wr_en = wr_pend_reg;
assign reg_wr_addr = addr_reg;
assign reg_wr_data = wr_data_reg;
assign reg_wr_strb = wr_strb_reg;
assign reg_rd_en = rd_pend_reg;
assign reg_rd_addr = addr_reg;

always @(posedge clk) begin
    rd_wait_reg <= {RD_LATENCY > 4 && rd_wait_reg[3], RD_LATENCY > 3 && rd_wait_reg[2],
                    RD_LATENCY > 2 && rd_wait_reg[1], RD_LATENCY > 1 && rd_wait_reg[0],
                    RD_LATENCY > 0 && rd_take};
    wr_wait_reg <= {RD_LATENCY > 4 && wr_wait_reg[3], RD_LATENCY > 3 && wr_wait_reg[2],
                    RD_LATENCY > 2 && wr_wait_reg[1], RD_LATENCY > 1 && wr_wait_reg[0],
                    RD_LATENCY > 0 && wr_take};
    rd_pend_reg <= rd_due;
    wr_merge_reg <= wr_due;
    wr_pend_reg <= wr_merge_reg;
    if (wr_take || rd_take) begin
        idle_reg <= 1'b0;
    end else if (rd_pend_reg || wr_pend_reg) begin
        idle_reg <= 1'b1;
    end
    if (idle_reg) begin
        addr_reg <= wr_want ? {s_axil_awaddr[ADDR_WIDTH-1:2], 2'b00}
                            : {s_axil_araddr[ADDR_WIDTH-1:2], 2'b00};
        wr_in_reg <= s_axil_wdata;
        wr_strb_reg <= s_axil_wstrb;
    end
    if (wr_merge_reg) begin
        wr_data_reg <= (wr_in_reg & wr_mask) | (reg_rd_data & ~wr_mask);
    end
    if (wr_pend_reg) begin
        bvalid_reg <= 1'b1;
    end else if (s_axil_bready) begin
        bvalid_reg <= 1'b0;
    end
    if (rd_pend_reg) begin
        rvalid_reg <= 1'b1;
        rdata_reg <= reg_rd_data;
    end else if (s_axil_rready) begin
        rvalid_reg <= 1'b0;
    end
    if (rst) begin
        idle_reg <= 1'b1;
        rd_wait_reg <= 4'b0000;
        wr_wait_reg <= 4'b0000;
        rd_pend_reg <= 1'b0;
        wr_merge_reg <= 1'b0;
        wr_pend_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
